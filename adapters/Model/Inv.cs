namespace Conformance.Adapters.Model;

// The constants of Inv (one per catalog invariant: its "name" holding its "id", and All) are generated from
// spec/catalog/*.json at build time by spec/CatalogIds.targets: an ID is written only in the catalog.
public static partial class Inv;
