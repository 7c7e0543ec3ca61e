//! The public service's declared rows: 34 to 36, 38 and 39.

use super::*;
use crate::api::{Channel, MinorsProtection, Parameters, ServiceInfo};

#[test]
fn row_34_disclosure_url_is_declared() {
    assert_decision(
        &row_of(&Fixture::baseline(), 34),
        State::Compliant,
        "UsagePublished",
        &["https://chat.example.com/about"],
    );
    let mut f = Fixture::baseline();
    f.service().disclosure_url = None;
    assert_decision(
        &row_of(&f, 34),
        State::NonCompliant,
        "DisclosureMissing",
        &["spec.service.disclosureUrl"],
    );
}

#[test]
fn row_35_retention_max_is_inclusive() {
    let mut f = Fixture::baseline();
    f.service().input_retention_days = Some(180);
    assert_decision(
        &row_of(&f, 35),
        State::Compliant,
        "EvidenceValid",
        &["kept 180 days (max 180)"],
    );
    f.service().input_retention_days = Some(181);
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionTooLong",
        &["kept 181 days; the policy allows at most 180"],
    );
    f.service().input_retention_days = None;
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionUndeclared",
        &["spec.service.inputRetentionDays"],
    );
}

/// Missing evidence is in `evidence::rows_that_need_evidence_on_top_say_so`.
#[test]
fn row_35_policy_can_tighten_the_retention() {
    let mut f = Fixture::baseline();
    f.policy().parameters.input_retention_max_days = Some(14);
    assert_decision(
        &row_of(&f, 35),
        State::NonCompliant,
        "RetentionTooLong",
        &["kept 30 days; the policy allows at most 14"],
    );
}

/// A row decided on a declared channel: its URL and how many days it takes to answer.
struct ChannelRow {
    row: u8,
    field: &'static str,
    channel: fn(&mut ServiceInfo) -> &mut Option<Channel>,
    max_days: fn(&mut Parameters) -> &mut Option<i32>,
    /// What the baseline's channel is and promises.
    url: &'static str,
    days: i32,
}

impl ChannelRow {
    /// Makes the baseline's channel promise an answer within `days`.
    fn promise(&self, f: &mut Fixture, days: i32) {
        (self.channel)(f.service())
            .as_mut()
            .expect("the baseline declares the channel")
            .response_days = days;
    }
}

/// Row 36 (personal-information requests) and row 38 (complaints), both at most 15 days by
/// default.
const CHANNELS: [ChannelRow; 2] = [
    ChannelRow {
        row: 36,
        field: "personalInfoChannel",
        channel: |s| &mut s.personal_info_channel,
        max_days: |p| &mut p.personal_info_request_max_days,
        url: "mailto:privacy@example.com",
        days: 10,
    },
    ChannelRow {
        row: 38,
        field: "complaintChannel",
        channel: |s| &mut s.complaint_channel,
        max_days: |p| &mut p.complaint_response_max_days,
        url: "https://chat.example.com/report",
        days: 7,
    },
];

#[test]
fn channel_rows_need_a_channel_answering_in_time() {
    for c in &CHANNELS {
        let field = c.field;
        let f = Fixture::baseline();
        assert_decision(
            &row_of(&f, c.row),
            State::Compliant,
            "ChannelOpen",
            &[&format!(
                "{} answers within {} days (max 15)",
                c.url, c.days
            )],
        );

        // The maximum is inclusive.
        let mut f = Fixture::baseline();
        c.promise(&mut f, 15);
        assert_decision(
            &row_of(&f, c.row),
            State::Compliant,
            "ChannelOpen",
            &["within 15 days (max 15)"],
        );
        c.promise(&mut f, 16);
        assert_decision(
            &row_of(&f, c.row),
            State::NonCompliant,
            "ResponseTooSlow",
            &[&format!(
                "{field} promises an answer in 16 days; the policy allows at most 15"
            )],
        );
        *(c.channel)(f.service()) = None;
        assert_decision(
            &row_of(&f, c.row),
            State::NonCompliant,
            "ChannelMissing",
            &[&format!("spec.service.{field}")],
        );

        // The policy can shorten the response time.
        let mut f = Fixture::baseline();
        *(c.max_days)(&mut f.policy().parameters) = Some(5);
        assert_decision(
            &row_of(&f, c.row),
            State::NonCompliant,
            "ResponseTooSlow",
            &[&format!("{} days; the policy allows at most 5", c.days)],
        );
    }
}

#[test]
fn row_39_minors_protection_is_complete() {
    let mut f = Fixture::baseline();
    f.service().minors_protection = Some(MinorsProtection {
        minors_mode: true,
        usage_time_limits: false,
        age_appropriate_content: true,
    });
    assert_decision(
        &row_of(&f, 39),
        State::NonCompliant,
        "MinorsProtectionIncomplete",
        &["minorsProtection lacks usageTimeLimits"],
    );
    f.service().minors_protection = None;
    assert_decision(
        &row_of(&f, 39),
        State::NonCompliant,
        "MinorsProtectionMissing",
        &["spec.service.minorsProtection"],
    );
}

#[test]
fn row_39_does_not_apply_without_minors() {
    let mut f = Fixture::baseline();
    f.service().audiences = vec![crate::api::Audience::General];
    f.service().minors_protection = None;
    assert_decision(
        &row_of(&f, 39),
        State::NotApplicable,
        "MinorsNotAdmitted",
        &["do not include minors"],
    );
}
