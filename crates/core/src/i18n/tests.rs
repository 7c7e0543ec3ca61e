use std::collections::BTreeSet;

use super::*;

fn names(template: &str) -> BTreeSet<&str> {
    pieces(template)
        .into_iter()
        .filter_map(|p| match p {
            Piece::Slot(name, _) => Some(name),
            Piece::Text(_) => None,
        })
        .collect()
}

#[test]
fn both_tables_have_the_same_placeholders() {
    for &id in Msg::ALL {
        assert_eq!(
            names(id.template(Lang::En)),
            names(id.template(Lang::Zh)),
            "{id:?}"
        );
    }
}

#[test]
fn chinese_templates_have_no_english_prose() {
    for &id in Msg::ALL {
        let zh = id.template(Lang::Zh);
        assert!(
            english_prose(zh).is_empty(),
            "{id:?}: {zh}: {:?}",
            english_prose(zh)
        );
    }
}

/// A value for each placeholder of `id`'s English template: names, lists and nested
/// messages as the evaluation would pass them.
fn sample_args(id: Msg) -> Vec<(&'static str, String)> {
    pieces(id.template(Lang::En))
        .into_iter()
        .filter_map(|p| match p {
            Piece::Slot(name, kind) => Some((
                name,
                match kind {
                    Kind::Value => format!("{name}-7"),
                    Kind::List => format!("{name}-1, {name}-2 and 3 more"),
                    Kind::Message => render(Msg::NoTrainingEnvironment, Lang::En, &[]),
                    Kind::Code => "unexpected token at 3".to_owned(),
                },
            )),
            Piece::Text(_) => None,
        })
        .collect()
}

#[test]
fn every_template_reads_back_into_chinese() {
    for &id in Msg::ALL {
        let values = sample_args(id);
        let args: Vec<(&str, &dyn Display)> = values
            .iter()
            .map(|(n, v)| (*n, v as &dyn Display))
            .collect();
        let english = render(id, Lang::En, &args);
        let chinese = translate(&english)
            .unwrap_or_else(|| panic!("{id:?}: no template reads back {english:?}"));
        assert_eq!(chinese, render(id, Lang::Zh, &args), "{id:?}: {english}");
        assert!(
            english_prose(&chinese).is_empty(),
            "{id:?}: {chinese}: {:?}",
            english_prose(&chinese)
        );
    }
}

#[test]
fn english_is_returned_unchanged() {
    let text = "batch b-1 was not sampled; and 3 more";
    assert!(matches!(message(text, Lang::En), Cow::Borrowed(t) if t == text));
}

#[test]
fn joined_parts_are_translated_one_by_one() {
    let text = "batch b-1 was not sampled; batch b-2 has 7.0 % illegal content in its sample (max 5.0 %) and is not voided; and 2 more";
    assert_eq!(
        message(text, Lang::Zh),
        "标注批次 b-1 未经抽检；标注批次 b-2 的抽检样本中违法不良信息占 7.0 %（上限 5.0 %），但该批次未作废；另有 2 项未列出"
    );
}

#[test]
fn a_part_that_contains_the_separator_is_read_whole() {
    let text = msg!(BatchesSampled, count = 3, voided = 1);
    assert_eq!(
        message(&text, Lang::Zh),
        "3 个标注批次均已抽检；超出上限的 1 个批次已作废"
    );
    let nested = msg!(
        RiskAccepted,
        approver = "ciso@example.com",
        date = "2027-01-31",
        justification = "legacy corpus",
        message = format!(
            "{}; {}",
            msg!(BatchNotSampled, batch = "b-1"),
            msg!(AndMore, count = 2)
        )
    );
    assert_eq!(
        message(&nested, Lang::Zh),
        "风险已由 ciso@example.com 接受，有效期至 2027-01-31（legacy corpus）；若无此风险接受：标注批次 b-1 未经抽检；另有 2 项未列出"
    );
}

#[test]
fn the_most_specific_template_wins() {
    let text = msg!(WorkloadMissingOffline, workload = "Deployment serve/llm");
    assert_eq!(
        message(&text, Lang::Zh),
        "所读取的清单中没有 spec.inference.workloads 中指定的 Deployment serve/llm"
    );
}

#[test]
fn lists_are_joined_the_chinese_way() {
    let text = "dataset(s) web-a, web-b and 4 more declare no license";
    assert_eq!(
        message(text, Lang::Zh),
        "数据集 web-a、web-b 等（另有 4 个） 未声明许可协议（license）"
    );
    let lacks = msg!(
        ReportLacks,
        fields = format!("model.algorithmDescription, {}", msg!(TrainingUndeclared))
    );
    assert_eq!(
        message(&lacks, Lang::Zh),
        "向主管部门说明所需的信息缺少 model.algorithmDescription、training（训练数据集和标注规则）"
    );
}

#[test]
fn text_no_template_matches_is_kept() {
    assert_eq!(
        message("something else entirely", Lang::Zh),
        "something else entirely"
    );
    assert_eq!(translate("something else entirely"), None);
}

#[test]
fn english_prose_is_two_lowercase_words_in_a_row_or_a_function_word() {
    assert_eq!(
        english_prose("数据集 a-1 未声明许可协议（license）"),
        Vec::<String>::new()
    );
    assert_eq!(
        english_prose("未声明 spec.training.datasets"),
        Vec::<String>::new()
    );
    assert_eq!(
        english_prose("ComplianceEvidence qwen-chat-2026 有效"),
        Vec::<String>::new()
    );
    assert_eq!(
        english_prose("`expected five fields` 无效"),
        Vec::<String>::new()
    );
    assert_eq!(
        english_prose("数据集 a declare no license"),
        vec!["a declare no license"]
    );
    assert_eq!(
        english_prose("a-1 and 3 more"),
        vec!["and", "more"].into_iter().take(1).collect::<Vec<_>>()
    );
    assert_eq!(english_prose("其他 see A4"), vec!["see"]);
    assert_eq!(
        english_prose("缺少（own data centre, no cloud）"),
        vec!["own data centre no cloud"]
    );
}

#[test]
fn every_reason_has_one_human_text() {
    let mut seen = BTreeSet::new();
    for (reason, en, zh) in reasons::REASONS {
        assert!(seen.insert(*reason), "{reason} twice");
        assert!(crate::conditions::valid_reason(reason), "{reason}");
        assert!(
            !en.is_empty() && english_prose(zh).is_empty(),
            "{reason}: {zh}"
        );
    }
    assert_eq!(reason("RiskAcceptable", Lang::Zh), "风险可接受");
    assert_eq!(reason("RiskAcceptable", Lang::En), "risk acceptable");
    assert_eq!(reason("SomethingNew", Lang::Zh), "SomethingNew");
}

/// Every CamelCase literal in the code that decides rows and writes conditions is a reason
/// the table knows, or one of the few that are not reasons.
#[test]
fn every_reason_in_the_code_has_a_human_text() {
    const NOT_REASONS: &[&str] = &[
        "ClusterRole",
        "ConditionsChanged",
        "KillSwitch",
        "ModelDeployment",
        "NonCompliant",
        "NotApplicable",
        "ServiceAccount",
        "Compliant",
        "Excepted",
        "Unknown",
        "Ready",
        "Reconciling",
        "Stalled",
        "True",
        "False",
        "Role",
        "Ingress",
        "Completed",
        "Bound",
        "Evidence",
        "Control",
        "Declared",
        "Evaluation",
    ];
    let sources = [
        include_str!("../conditions.rs"),
        include_str!("../evaluate/mod.rs"),
        include_str!("../evaluate/declared.rs"),
        include_str!("../evaluate/evidence.rs"),
        include_str!("../evaluate/controls/mod.rs"),
        include_str!("../evaluate/controls/access.rs"),
        include_str!("../evaluate/controls/backup.rs"),
        include_str!("../evaluate/controls/cluster.rs"),
        include_str!("../evaluate/controls/kill_switch.rs"),
        include_str!("../evaluate/controls/sidecar.rs"),
        include_str!("../evaluate/controls/isolation/mod.rs"),
        include_str!("../evaluate/controls/isolation/accounts.rs"),
        include_str!("../evaluate/controls/isolation/annotations.rs"),
        include_str!("../evaluate/controls/isolation/network.rs"),
        include_str!("../evaluate/controls/isolation/nodes.rs"),
        include_str!("../evaluate/controls/isolation/volumes.rs"),
    ];
    let literal = Regex::new(r#""([A-Z][a-z0-9]+(?:[A-Z][a-z0-9]*)*)""#).expect("valid");
    let mut unknown = BTreeSet::new();
    for source in sources {
        // The tests at the end of a file are not the code.
        let code = source.split("#[cfg(test)]").next().unwrap_or(source);
        for c in literal.captures_iter(code) {
            let word = &c[1];
            if reason_text(word, Lang::En).is_none() && !NOT_REASONS.contains(&word) {
                unknown.insert(word.to_owned());
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "reasons without a human text: {unknown:?}"
    );
}

#[test]
fn a_message_cut_to_size_is_read_as_the_beginning_of_its_template() {
    let volumes: Vec<String> = (0..40).map(|i| format!("train/shard-{i:02}")).collect();
    let text = msg!(BackupAgeOnlyLive, volumes = volumes.join(", "), max = 26);
    let cut = format!("{}...", &text[..300]);
    let zh = translate(&cut).expect("read as the beginning of BackupAgeOnlyLive");
    assert!(zh.starts_with("train/shard-00、train/shard-01、"), "{zh}");
    assert!(
        zh.ends_with("… 最新备份的时间只能在集群中确认（上限 … 小时）"),
        "{zh}"
    );
    // A beginning several templates share is not guessed.
    assert_eq!(translate("dataset(s) web-a, web-b, we..."), None);
    // Without the mark of a cut, a beginning is not a message.
    assert_eq!(translate(&text[..300]), None);
}
