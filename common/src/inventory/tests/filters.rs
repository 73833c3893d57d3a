//! Host selection.

use super::*;

fn fleet() -> Inventory {
    load_dir(&[
        (
            "hosts.yaml",
            "\
r001:
  hostname: 10.0.0.1
  groups: [ams-pe]
  data: {role: pe, tags: [edge, mpls], loc: {rack: 12, room: a}}
r002:
  groups: [ams-pe]
  port: 2222
  username: netops
  data: {role: pe, enabled: true}
r010:
  groups: [lon]
  platform: linux
  data: {role: rr}
",
        ),
        (
            "groups.yaml",
            "\
europe:
  data: {region: eu}
ams:
  groups: [europe]
  data: {site: ams}
ams-pe:
  groups: [ams]
lon:
  groups: [europe]
  data: {site: lon}
",
        ),
        ("defaults.yaml", "platform: cisco_ios\n"),
    ])
    .unwrap()
}

fn names(inventory: &Inventory, filters: &[&str]) -> Vec<String> {
    let filters: Vec<Filter> = filters.iter().map(|f| f.parse().unwrap()).collect();
    inventory
        .select(&filters)
        .iter()
        .map(|h| h.name.clone())
        .collect()
}

#[test]
fn host_fields() {
    let inventory = fleet();
    assert_eq!(names(&inventory, &["name=r002"]), ["r002"]);
    assert_eq!(names(&inventory, &["hostname=10.0.0.1"]), ["r001"]);
    assert_eq!(
        names(&inventory, &["hostname=r0*"]),
        ["r002", "r010"],
        "hostname defaults to name"
    );
    assert_eq!(names(&inventory, &["platform=linux"]), ["r010"]);
    assert_eq!(names(&inventory, &["port=2222"]), ["r002"]);
    assert_eq!(names(&inventory, &["port=22"]), ["r001", "r010"]);
    assert_eq!(names(&inventory, &["username=netops"]), ["r002"]);
    assert_eq!(names(&inventory, &["username="]), ["r001", "r010"]);
}

#[test]
fn globs_and_negation() {
    let inventory = fleet();
    assert_eq!(names(&inventory, &["name=r00*"]), ["r001", "r002"]);
    assert_eq!(names(&inventory, &["name=*0"]), ["r010"]);
    assert_eq!(names(&inventory, &["name=*"]), ["r001", "r002", "r010"]);
    assert_eq!(names(&inventory, &["name!=r00*"]), ["r010"]);
    assert_eq!(names(&inventory, &["platform!=cisco_ios"]), ["r010"]);
}

#[test]
fn group_membership_includes_parents() {
    let inventory = fleet();
    assert_eq!(names(&inventory, &["group=ams-pe"]), ["r001", "r002"]);
    assert_eq!(
        names(&inventory, &["group=ams"]),
        ["r001", "r002"],
        "parent of ams-pe"
    );
    assert_eq!(
        names(&inventory, &["group=europe"]),
        ["r001", "r002", "r010"],
        "grandparent"
    );
    assert_eq!(names(&inventory, &["group=am*"]), ["r001", "r002"]);
    assert_eq!(names(&inventory, &["group!=ams"]), ["r010"]);
    assert!(names(&inventory, &["group=nowhere"]).is_empty());
}

#[test]
fn data_keys_plain_dotted_and_nested() {
    let inventory = fleet();
    assert_eq!(
        names(&inventory, &["site=ams"]),
        ["r001", "r002"],
        "inherited data"
    );
    assert_eq!(names(&inventory, &["data.site=lon"]), ["r010"]);
    assert_eq!(names(&inventory, &["region=eu"]), ["r001", "r002", "r010"]);
    assert_eq!(
        names(&inventory, &["data.loc.rack=12"]),
        ["r001"],
        "numbers by string form"
    );
    assert_eq!(names(&inventory, &["loc.room=a"]), ["r001"]);
    assert_eq!(names(&inventory, &["enabled=true"]), ["r002"]);
    assert_eq!(names(&inventory, &["tags=mpls"]), ["r001"], "any list item");
    assert!(
        names(&inventory, &["loc=*"]).is_empty(),
        "a mapping is not a scalar"
    );
    // A host without the key never equals anything and always differs.
    assert_eq!(names(&inventory, &["enabled!=true"]), ["r001", "r010"]);
}

#[test]
fn filters_combine_with_and() {
    let inventory = fleet();
    assert_eq!(names(&inventory, &["role=pe", "port=22"]), ["r001"]);
    assert_eq!(
        names(
            &inventory,
            &["group=europe", "name!=r001", "platform=cisco_ios"]
        ),
        ["r002"]
    );
    assert!(names(&inventory, &["role=pe", "site=lon"]).is_empty());
    assert_eq!(names(&inventory, &[]), ["r001", "r002", "r010"]);
}

#[test]
fn parse_errors() {
    for (expr, reason) in [
        ("site", "expected key=value or key!=value"),
        ("=ams", "the key is empty"),
        ("!=ams", "the key is empty"),
        ("data.=x", "the data key has an empty part"),
        ("a..b=x", "the data key has an empty part"),
    ] {
        let error = Filter::parse(expr).unwrap_err();
        assert_eq!(
            error.to_string(),
            format!("invalid filter {expr:?}: {reason}")
        );
        assert!(error.location().is_none());
    }
    let filter: Filter = " site = ams ".parse().unwrap();
    assert_eq!(filter.to_string(), " site = ams ");
    assert!(
        "name!=a=b".parse::<Filter>().is_ok(),
        "the value may hold '='"
    );
}
