//! Relabel tests: one table per action, rules written in YAML as users write them.

use super::*;

fn labels(s: &str) -> Labels {
    Labels::from_pairs(s.split(',').filter(|p| !p.is_empty()).map(|p| {
        let (n, v) = p.split_once('=').unwrap();
        (n.trim(), v.trim())
    }))
}

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    let rules: Vec<RelabelConfig> = serde_saphyr::from_str(yaml).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    for r in &rules {
        r.validate().unwrap_or_else(|e| panic!("{e}"));
    }
    rules
}

/// `want` is `None` for "dropped", else the label set as `a=1,b=2`.
#[track_caller]
fn check(yaml: &str, input: &str, want: Option<&str>) {
    let got = relabel(&labels(input), &rules(yaml));
    assert_eq!(got, want.map(labels), "rules:\n{yaml}\ninput: {input}");
}

#[test]
fn replace() {
    // Defaults: regex (.*), replacement $1.
    check(
        "- source_labels: [a]\n  target_label: b\n",
        "a=x",
        Some("a=x,b=x"),
    );
    // Join with the separator; capture groups.
    check(
        "- source_labels: [__address__, port]\n  regex: '([^:]+)(?::\\d+)?;(\\d+)'\n  replacement: '${1}:${2}'\n  target_label: __address__\n",
        "__address__=host:80,port=9100",
        Some("__address__=host:9100,port=9100"),
    );
    // No match: unchanged.
    check(
        "- source_labels: [a]\n  regex: 'y'\n  target_label: b\n  replacement: z\n",
        "a=x",
        Some("a=x"),
    );
    // Anchored: a partial match is no match.
    check(
        "- source_labels: [a]\n  regex: 'x'\n  target_label: b\n",
        "a=xx",
        Some("a=xx"),
    );
    // Empty result removes the target.
    check("- source_labels: [nope]\n  target_label: a\n", "a=x", Some(""));
    // Target label from a template.
    check(
        "- source_labels: [k]\n  regex: '(.+)'\n  target_label: 'label_$1'\n  replacement: v\n",
        "k=env",
        Some("k=env,label_env=v"),
    );
    // Dot matches newlines ((?s)).
    check(
        "- source_labels: [a]\n  regex: 'x.y'\n  target_label: b\n  replacement: ok\n",
        "a=x\ny",
        Some("a=x\ny,b=ok"),
    );
    // Action name is case-insensitive; literal replacement.
    check(
        "- action: Replace\n  target_label: env\n  replacement: prod\n",
        "a=1",
        Some("a=1,env=prod"),
    );
    // $$ is a literal dollar.
    check("- target_label: d\n  replacement: '$$1'\n", "", Some("d=$1"));
}

#[test]
fn keep_and_drop() {
    let keep = "- source_labels: [job]\n  regex: 'node|prom'\n  action: keep\n";
    check(keep, "job=node", Some("job=node"));
    check(keep, "job=nodes", None);
    check(keep, "x=1", None);
    let drop = "- source_labels: [__name__]\n  regex: 'go_.*'\n  action: drop\n";
    check(drop, "__name__=go_gc", None);
    check(drop, "__name__=up", Some("__name__=up"));
    // Empty joined value matches an empty-accepting regex.
    check(
        "- source_labels: [missing]\n  regex: ''\n  action: drop\n",
        "a=1",
        None,
    );
    check(
        "- source_labels: [a, b]\n  regex: '1;2'\n  action: keep\n",
        "a=1,b=2",
        Some("a=1,b=2"),
    );
    check(
        "- source_labels: [a, b]\n  separator: ','\n  regex: '1,2'\n  action: keep\n",
        "a=1,b=2",
        Some("a=1,b=2"),
    );
}

#[test]
fn keepequal_and_dropequal() {
    let keq = "- source_labels: [__meta_port]\n  target_label: port\n  action: keepequal\n";
    check(keq, "__meta_port=80,port=80", Some("__meta_port=80,port=80"));
    check(keq, "__meta_port=80,port=81", None);
    let deq = "- source_labels: [a]\n  target_label: b\n  action: dropequal\n";
    check(deq, "a=1,b=1", None);
    check(deq, "a=1,b=2", Some("a=1,b=2"));
    check(deq, "c=1", None); // both empty
}

#[test]
fn hashmod() {
    let r = "- source_labels: [__address__]\n  modulus: 8\n  target_label: __tmp_hash\n  action: hashmod\n";
    // Values checked against md5 (last 8 bytes, big endian) as Prometheus computes them.
    check(
        r,
        "__address__=localhost:9100",
        Some("__address__=localhost:9100,__tmp_hash=7"),
    );
    check(r, "__address__=foo", Some("__address__=foo,__tmp_hash=0"));
    check(
        "- source_labels: [a, b]\n  modulus: 1000\n  target_label: h\n  action: hashmod\n",
        "a=a,b=b",
        Some("a=a,b=b,h=74"),
    );
    // Sharding idiom from Prometheus' docs.
    let shard = "- source_labels: [__address__]\n  modulus: 8\n  target_label: __tmp_hash\n  action: hashmod\n- source_labels: [__tmp_hash]\n  regex: '7'\n  action: keep\n";
    check(
        shard,
        "__address__=localhost:9100",
        Some("__address__=localhost:9100,__tmp_hash=7"),
    );
    check(shard, "__address__=foo", None);
}

#[test]
fn labelmap() {
    let r = "- regex: '__meta_kubernetes_node_label_(.+)'\n  action: labelmap\n";
    check(
        r,
        "__meta_kubernetes_node_label_zone=a,job=x",
        Some("__meta_kubernetes_node_label_zone=a,job=x,zone=a"),
    );
    check(
        "- regex: '(.*)_tmp'\n  replacement: 'final_$1'\n  action: labelmap\n",
        "x_tmp=1",
        Some("x_tmp=1,final_x=1"),
    );
}

#[test]
fn labeldrop_and_labelkeep() {
    check(
        "- regex: 'tmp_.*'\n  action: labeldrop\n",
        "tmp_a=1,tmp_b=2,keep=3",
        Some("keep=3"),
    );
    check(
        "- regex: 'job|instance|__name__'\n  action: labelkeep\n",
        "__name__=up,job=a,instance=b,pod=c",
        Some("__name__=up,instance=b,job=a"),
    );
}

#[test]
fn lowercase_and_uppercase() {
    check(
        "- source_labels: [a]\n  target_label: a\n  action: lowercase\n",
        "a=MiXeD",
        Some("a=mixed"),
    );
    check(
        "- source_labels: [a, b]\n  target_label: c\n  action: uppercase\n",
        "a=x,b=y",
        Some("a=x,b=y,c=X;Y"),
    );
}

#[track_caller]
fn check_invalid(yaml: &str, want: &str) {
    let err = match serde_saphyr::from_str::<Vec<RelabelConfig>>(yaml) {
        Err(e) => e.to_string(),
        Ok(rules) => rules.iter().find_map(|r| r.validate().err()).expect("an error"),
    };
    assert!(err.contains(want), "error {err:?} does not mention {want:?}");
}

#[test]
fn invalid_rules() {
    check_invalid(
        "- action: hashmod\n  target_label: a\n",
        "requires non-zero modulus",
    );
    check_invalid(
        "- action: replace\n  source_labels: [a]\n",
        "requires 'target_label'",
    );
    check_invalid(
        "- action: lowercase\n  source_labels: [a]\n",
        "requires 'target_label'",
    );
    check_invalid(
        "- action: replace\n  target_label: '1abc'\n",
        "invalid 'target_label'",
    );
    check_invalid(
        "- action: labeldrop\n  regex: a\n  source_labels: [x]\n",
        "requires only 'regex'",
    );
    check_invalid(
        "- action: keepequal\n  target_label: a\n  source_labels: [b]\n  regex: x\n",
        "requires only 'source_labels'",
    );
    check_invalid("- action: frobnicate\n", "unknown relabel action \"frobnicate\"");
    check_invalid("- regex: '('\n", "invalid relabel regex");
    check_invalid("- source_label: [a]\n  target_label: b\n", "source_label");
}
