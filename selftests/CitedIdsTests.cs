using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>
/// The combinations of IDs a step cites (<see cref="CitedIds"/>): a tree all models share, followed one ID at a time. The same
/// IDs in the same order must give the same node (its array and number) whoever cites them, an ID made anew at run time must
/// find the node of the constant it equals, a combination too long for the tree must still carry its IDs, and counting a
/// step's IDs by the combination's number (<see cref="Exercise.HitCited"/>) must count what counting them one by one does.
/// </summary>
public class CitedIdsTests
{
    [Fact]
    public void The_same_ids_in_the_same_order_give_one_node_and_other_orders_another()
    {
        var ab = CitedIds.None.Then(Inv.AccMode).Then(Inv.Cloexec);
        Assert.Same(ab, CitedIds.None.Then(Inv.AccMode).Then(Inv.Cloexec));
        Assert.Equal([Inv.AccMode, Inv.Cloexec], ab.Ids);
        Assert.True(ab.Key > 0);
        var ba = CitedIds.None.Then(Inv.Cloexec).Then(Inv.AccMode);
        Assert.NotSame(ab, ba);
        Assert.NotEqual(ab.Key, ba.Key);
        // an equal string that is not the catalog's constant finds the constant's node
        Assert.Same(ab, CitedIds.None.Then(new string(Inv.AccMode.ToCharArray())).Then(Inv.Cloexec));
    }

    [Fact]
    public void A_combination_longer_than_the_tree_holds_keeps_every_id_outside_it()
    {
        var node = CitedIds.None;
        for (int i = 0; i < CitedIds.MaxDepth + 5; i++) node = node.Then(Inv.Cloexec);
        Assert.Equal(-1, node.Key);
        Assert.Equal(CitedIds.MaxDepth + 5, node.Ids.Length);
        Assert.All(node.Ids, id => Assert.Equal(Inv.Cloexec, id));
    }

    [Fact]
    public void Models_hand_out_the_shared_node_and_counting_by_it_counts_what_counting_each_id_does()
    {
        var seq = new SequenceGenerator(TargetProfile.VividLike).Generate(7, 80);
        var byNode = new Exercise();
        var byIds = new Exercise();
        var seen = new Dictionary<int, CitedIds>();
        foreach (var model in new[] { new ReferenceModel(TargetProfile.VividLike), new ReferenceModel(TargetProfile.VividLike) })
        {
            var env = new Env();
            foreach (var op in seq.Ops)
            {
                model.BeginStep(null);
                op.Run(model, env);
                var cited = model.CitedCombination;
                Assert.Same(cited.Ids, model.CitedArray());
                // each number names one combination, in either model
                if (cited.Key >= 0) Assert.Same(seen.TryGetValue(cited.Key, out var s) ? s : seen[cited.Key] = cited, cited);
                byNode.HitCited(cited);
                byIds.HitAll(cited.Ids.ToList());
            }
            model.Reset();
        }
        Assert.True(seen.Count > 5, $"{seen.Count} combinations");
        foreach (var id in seen.Values.SelectMany(c => c.Ids).Distinct()) Assert.Equal(byIds[id], byNode[id]);
    }
}
