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
    private static readonly Type[] OpTypes = typeof(Op).Assembly.GetTypes().Where(t => t.IsSubclassOf(typeof(Op)) && !t.IsAbstract).ToArray();

    /// <summary>The fields an op record declares in its primary constructor (its arguments), by name.</summary>
    private static IEnumerable<PropertyInfo> Arguments(Type op)
    {
        var ctor = op.GetConstructors().OrderByDescending(c => c.GetParameters().Length).First();
        return ctor.GetParameters().Select(p => op.GetProperty(p.Name!)!);
    }

    private static bool IsHandle(PropertyInfo p) => p.PropertyType == typeof(Var);

    [Fact]
    public void Every_domain_names_real_op_fields_and_every_argument_of_every_op_is_declared_or_derived()
    {
        var declared = new Dictionary<string, List<string>>();
        foreach (var d in Domains.All)
            foreach (var f in d.Fields)
            {
                var parts = f.Split('.');
                var type = OpTypes.SingleOrDefault(t => t.Name == parts[0]);
                Assert.True(type != null && parts.Length == 2 && Arguments(type).Any(p => p.Name == parts[1]), $"domain '{d.Name}' names {f}, which is no op argument");
                (declared.TryGetValue(f, out var l) ? l : declared[f] = new()).Add(d.Name);
            }
        foreach (var f in Domains.Derived.Keys)
        {
            var parts = f.Split('.');
            var type = OpTypes.SingleOrDefault(t => t.Name == parts[0]);
            Assert.True(type != null && Arguments(type).Any(p => p.Name == parts[1]), $"Domains.Derived names {f}, which is no op argument");
            Assert.False(declared.ContainsKey(f), $"{f} is both drawn from a domain and derived");
        }
        var missing = OpTypes.SelectMany(t => Arguments(t).Where(p => !IsHandle(p)).Select(p => $"{t.Name}.{p.Name}"))
            .Where(f => !declared.ContainsKey(f) && !Domains.Derived.ContainsKey(f)).ToList();
        Assert.True(missing.Count == 0, "op arguments with no domain (declare one in generators/Domains.cs, or say in Domains.Derived why the state decides): " + string.Join(", ", missing));
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
        var allowed = new Dictionary<string, HashSet<object>>();
        foreach (var d in absolute)
            foreach (var f in d.Fields)
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
        var r = Engine.Run("model", new ReferenceModel(TargetProfile.VividLike), new RunOptions(), Catalog.Load());
        var never = r.Domains.Report().SelectMany(d => d.Values.Where(v => v.Count == 0).Select(v => $"{d.Domain.Name} = {v.Label}")).ToList();
        Assert.True(never.Count == 0, "never generated: " + string.Join("; ", never));
        int n = Domains.All.Sum(d => d.Entries.Count);
        Assert.Contains($"{Domains.All.Count} argument domains drawn from, {n} of their {n} declared values generated", Conformance.Reports.TextReport.DomainCoverage(r));
    }
}
