using System.Collections;
using System.Reflection;
using Conformance.Adapters;
using Conformance.Adapters.Model;
using Conformance.Generators;
using Conformance.Properties;
using Conformance.Spec;
using Xunit;

namespace Conformance.SelfTests;

/// <summary>The argument domains are the only source of the generator's argument values, and a run reports what it drew.</summary>
public class DomainTests
{
    private static readonly IReadOnlyList<Type> OpTypes = DomainRegistry.OpTypes;

    /// <summary>The fields an op record declares in its primary constructor (its arguments), by name.</summary>
    private static IEnumerable<PropertyInfo> Arguments(Type op) => DomainRegistry.Arguments(op).Select(p => op.GetProperty(p.Name!)!);

    [Fact]
    public void Every_argument_of_every_op_names_a_declared_domain_or_why_the_state_decides_it()
    {
        var keys = Domains.All.Select(d => d.Key).ToHashSet();
        var missing = new List<string>();
        foreach (var t in OpTypes)
            foreach (var p in DomainRegistry.Arguments(t).Where(p => p.ParameterType != typeof(Var)))
            {
                var from = p.GetCustomAttributes<DrawnFromAttribute>().ToList();
                var derived = p.GetCustomAttribute<DerivedAttribute>();
                foreach (var a in from) Assert.True(keys.Contains(a.Domain), $"{t.Name}.{p.Name} is drawn from '{a.Domain}', which generators/Domains.cs does not declare");
                Assert.False(from.Count > 0 && derived != null, $"{t.Name}.{p.Name} is both drawn from a domain and derived");
                Assert.True(derived == null || !string.IsNullOrWhiteSpace(derived.Reason), $"{t.Name}.{p.Name}: [Derived] without a reason");
                if (from.Count == 0 && derived == null) missing.Add($"{t.Name}.{p.Name}");
            }
        Assert.True(missing.Count == 0, "op arguments with no domain (mark each [DrawnFrom(nameof(Domains.X))], declaring X in generators/Domains.cs if it is new, or [Derived(\"why the state decides\")]): " + string.Join(", ", missing));
        Assert.All(Domains.All, d => Assert.True(d.Fields.Count > 0, $"domain '{d.Name}' is drawn into no op argument"));
    }

    [Fact]
    public void Domains_are_well_formed()
    {
        Assert.Equal(Domains.All.Count, Domains.All.Select(d => d.Name).Distinct().Count());
        foreach (var d in Domains.All)
        {
            Assert.True(d.Entries.Any(e => e.Valid), $"{d.Name}: no valid value");
            Assert.All(d.Entries, e => Assert.True(e.Weight > 0, $"{d.Name} = {e.Label}: weight {e.Weight}"));
            Assert.Equal(d.Entries.Count, d.Entries.Select(e => e.Label).Distinct().Count());
            Assert.False(string.IsNullOrWhiteSpace(d.Source), d.Name);
        }
    }

    /// <summary>A domain's draw is the generator's weighted draw: declaring a list as a domain leaves every seed's sequence as it was.</summary>
    [Fact]
    public void A_domain_draw_is_the_same_draw_as_a_weighted_pick_over_its_values()
    {
        foreach (var d in Domains.All)
        {
            var weighted = d.Entries.Select((e, i) => (e.Weight, i)).ToArray();
            for (ulong seed = 1; seed < 300; seed++)
            {
                var a = new Rng(seed); var b = new Rng(seed);
                Assert.Equal(b.Weighted(weighted), d.DrawIndex(ref a));
                Assert.Equal(b.Next(), a.Next());   // and it consumes exactly as much of the stream
            }
        }
    }

    [Fact]
    public void A_reweight_changes_one_value_for_one_draw()
    {
        var d = Domains.ReqBufsCount;
        int zero = d.Entries.Select(e => e.Label).ToList().IndexOf("0 (frees the buffers)");
        var r = new Rng(5);
        int hits = Enumerable.Range(0, 4000).Count(_ => d.DrawIndex(ref r, "0 (frees the buffers)", 1000) == zero);
        Assert.True(hits > 3800, $"reweighted to 1000 of ~1013 it was drawn {hits} of 4000 times");
    }

    /// <summary>Every absolute value a generated op carries in a declared field is one of its domain's declared values.</summary>
    [Fact]
    public void Generated_arguments_come_from_their_declared_domains()
    {
        var absolute = Domains.All.Where(d => !d.Relative).ToList();
        // a field also drawn from a relative domain holds values computed from the state: only the draw knows them
        var relative = Domains.All.Where(d => d.Relative).SelectMany(d => d.Fields).ToHashSet();
        var allowed = new Dictionary<string, HashSet<object>>();
        foreach (var d in absolute)
            foreach (var f in d.Fields.Where(f => !relative.Contains(f)))
                (allowed.TryGetValue(f, out var s) ? s : allowed[f] = new()).UnionWith(d.Entries.Select((_, i) => d.ValueAt(i)!));
        int checkedValues = 0;
        foreach (var profile in TargetProfile.BuiltIn)
            foreach (var areas in SequenceGenerator.AllAreas.Select(a => new[] { a }).Append(SequenceGenerator.AllAreas))
            {
                var gen = new SequenceGenerator(profile, areas) { SlowOps = true };
                for (ulong seed = 1; seed <= 60; seed++)
                    foreach (var op in gen.Generate(seed * 7919, 60).Ops)
                        foreach (var p in Arguments(op.GetType()))
                        {
                            // a handle is drawn by what it names (a request, or a file that is not one), not by its value
                            if (p.PropertyType == typeof(Var)) continue;
                            if (!allowed.TryGetValue($"{op.GetType().Name}.{p.Name}", out var values)) continue;
                            var v = p.GetValue(op)!;
                            if (v is ICollection list) v = list.Count;   // a list's length is its count
                            Assert.True(values.Contains(v), $"{op.GetType().Name}.{p.Name} = {v} is not declared ({op.Text})");
                            checkedValues++;
                        }
            }
        Assert.True(checkedValues > 10_000, $"only {checkedValues} values checked");
    }

    /// <summary>At the default budget the model run sends every declared value, valid and invalid, at least once, and the
    /// run's result says so value by value.</summary>
    [Fact]
    public void The_default_run_generates_every_declared_value()
    {
        // the multi-planar and mem2mem domains are drawn on such queues only: the default run of those profiles sends them
        var r = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions(), Catalog.Load());
        var mp = Engine.Run("model", new ReferenceModel(TargetProfile.VividMplane), new RunOptions(), Catalog.Load());
        var m2m = Engine.Run("model", new ReferenceModel(TargetProfile.Vim2mLike), new RunOptions(), Catalog.Load());
        var output = Engine.Run("model", new ReferenceModel(TargetProfile.VividOutput), new RunOptions(), Catalog.Load());
        var mpOutput = Engine.Run("model", new ReferenceModel(TargetProfile.VividMplaneOutput), new RunOptions(), Catalog.Load());
        var encoder = Engine.Run("model", new ReferenceModel(TargetProfile.VicodecEncoderLike), new RunOptions(), Catalog.Load());
        var decoder = Engine.Run("model", new ReferenceModel(TargetProfile.VicodecDecoderLike), new RunOptions(), Catalog.Load());
        var mplaneOnly = Domains.MultiPlanarOnly.ToHashSet();
        var m2mOnly = Domains.Mem2MemOnly.ToHashSet();
        var writeOnly = Domains.WriteOnly.ToHashSet();
        var encoderOnly = Domains.EncoderOnly.ToHashSet();
        var decoderOnly = Domains.DecoderOnly.ToHashSet();
        var mpOutputOnly = Domains.MplaneOutputOnly.ToHashSet();
        bool Elsewhere(Domain d) => mplaneOnly.Contains(d) || m2mOnly.Contains(d) || writeOnly.Contains(d) || encoderOnly.Contains(d) || decoderOnly.Contains(d)
            || mpOutputOnly.Contains(d);
        var never = r.Domains.Report().Where(d => !Elsewhere(d.Domain))
            .Concat(mp.Domains.Report().Where(d => mplaneOnly.Contains(d.Domain)))
            .Concat(m2m.Domains.Report().Where(d => m2mOnly.Contains(d.Domain)))
            .Concat(output.Domains.Report().Where(d => writeOnly.Contains(d.Domain)))
            .Concat(encoder.Domains.Report().Where(d => encoderOnly.Contains(d.Domain)))
            .Concat(decoder.Domains.Report().Where(d => decoderOnly.Contains(d.Domain)))
            .Concat(mpOutput.Domains.Report().Where(d => mpOutputOnly.Contains(d.Domain)))
            .SelectMany(d => d.Values.Where(v => v.Count == 0).Select(v => $"{d.Domain.Name} = {v.Label}")).ToList();
        Assert.True(never.Count == 0, "never generated: " + string.Join("; ", never));
        int n = Domains.All.Where(d => !Elsewhere(d)).Sum(d => d.Entries.Count);
        Assert.Contains($"{Domains.All.Count(d => !Elsewhere(d))} argument domains drawn from, {n} of their {n} declared values generated", Conformance.Reports.TextReport.DomainCoverage(r));
    }
}
