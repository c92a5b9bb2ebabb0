//! China's administrative divisions by their GB/T 2260 codes: where a
//! returning resident came from, and what a region rule names. Province
//! codes have two digits ("31"), cities four ("3101"), districts six
//! ("310115"); a rule's prefix is any of them. The data is vendored in
//! `server/data/divisions/` (see its README) and built into the binary.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;

/// One division.
#[derive(Clone, Debug, PartialEq)]
pub struct Division {
    pub code: String,
    pub name: String,
    /// The code of the division it belongs to; `None` for a province.
    pub parent: Option<String>,
}

#[derive(Deserialize)]
struct Node {
    code: String,
    name: String,
    #[serde(default)]
    children: Vec<Node>,
}

struct Table {
    by_code: HashMap<String, Division>,
    children: HashMap<String, Vec<String>>,
    provinces: Vec<String>,
}

/// Regions with a GB/T 2260 province code that the package lists without
/// codes.
const EXTRA_PROVINCES: [(&str, &str); 3] = [("71", "台湾省"), ("81", "香港特别行政区"), ("82", "澳门特别行政区")];

fn table() -> &'static Table {
    static TABLE: OnceLock<Table> = OnceLock::new();
    TABLE.get_or_init(|| {
        let tree: Vec<Node> = serde_json::from_str(include_str!("../../data/divisions/pca-code.json"))
            .expect("the vendored division data is valid JSON");
        let mut t = Table { by_code: HashMap::new(), children: HashMap::new(), provinces: Vec::new() };
        fn walk(t: &mut Table, node: &Node, parent: Option<&str>) {
            t.by_code.insert(
                node.code.clone(),
                Division { code: node.code.clone(), name: node.name.clone(), parent: parent.map(str::to_string) },
            );
            match parent {
                Some(p) => t.children.entry(p.to_string()).or_default().push(node.code.clone()),
                None => t.provinces.push(node.code.clone()),
            }
            for child in &node.children {
                walk(t, child, Some(&node.code));
            }
        }
        for province in &tree {
            walk(&mut t, province, None);
        }
        for (code, name) in EXTRA_PROVINCES {
            t.by_code.insert(code.into(), Division { code: code.into(), name: name.into(), parent: None });
            t.provinces.push(code.into());
        }
        t.provinces.sort();
        t
    })
}

/// The division with this code.
pub fn get(code: &str) -> Option<&'static Division> {
    table().by_code.get(code)
}

/// Every province-level division, by code.
pub fn provinces() -> impl Iterator<Item = &'static Division> {
    table().provinces.iter().filter_map(|c| get(c))
}

/// The divisions directly under `code` (a province's cities, a city's
/// districts), in the data's order.
pub fn children(code: &str) -> impl Iterator<Item = &'static Division> {
    table().children.get(code).into_iter().flatten().filter_map(|c| get(c))
}

/// The full name of a division: "上海市 浦东新区", leaving out the
/// "市辖区" and "县" placeholders between a municipality and its districts.
pub fn full_name(code: &str) -> Option<String> {
    let mut names = Vec::new();
    let mut at = get(code);
    while let Some(d) = at {
        if !matches!(d.name.as_str(), "市辖区" | "县" | "省直辖县级行政区划" | "自治区直辖县级行政区划")
        {
            names.push(d.name.as_str());
        }
        at = d.parent.as_deref().and_then(get);
    }
    (!names.is_empty()).then(|| names.into_iter().rev().collect::<Vec<_>>().join(" "))
}

/// Whether `code` is `prefix` or lies within it ("310115" within "31").
pub fn within(code: &str, prefix: &str) -> bool {
    !prefix.is_empty() && code.starts_with(prefix) && get(prefix).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_data_has_every_province_and_the_well_known_codes() {
        assert_eq!(
            provinces().count(),
            34,
            "31 provinces, autonomous regions and municipalities, and Hong Kong, Macao, Taiwan"
        );
        assert_eq!(get("31").unwrap().name, "上海市");
        assert_eq!(get("310115").unwrap().name, "浦东新区");
        assert_eq!(get("420106").unwrap().name, "武昌区");
        assert_eq!(full_name("310115").as_deref(), Some("上海市 浦东新区"));
        assert_eq!(full_name("420106").as_deref(), Some("湖北省 武汉市 武昌区"));
        assert_eq!(full_name("81").as_deref(), Some("香港特别行政区"));
        assert!(children("31").count() >= 1 && children("3101").count() == 16, "Shanghai's 16 districts");
        let districts: usize = provinces().flat_map(|p| children(&p.code)).map(|c| children(&c.code).count()).sum();
        assert!((2_800..3_300).contains(&districts), "about 3,000 districts: {districts}");
        assert_eq!(get("999999"), None);
        assert!(within("310115", "31") && within("310115", "3101") && within("310115", "310115"));
        assert!(!within("320115", "31") && !within("310115", "") && !within("310115", "3"));
    }
}
