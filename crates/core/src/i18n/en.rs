//! The English message templates: the text the evaluation writes into conditions, word for
//! word. A placeholder is `{name}` (a value kept as it is), `{name:list}` (a list of values,
//! `a, b and 3 more`) or `{name:msg}` (a message of its own, translated in turn).

use super::Msg;

pub(super) const fn template(id: Msg) -> &'static str {
    match id {
        // Shared by several rules.
        Msg::AndMore => "and {count} more",
        Msg::NotApplicableByPolicy => "not applicable under policy {policy}: {remark}",
        Msg::RiskAccepted => {
            "risk accepted by {approver} until {date} ({justification}); without it: {message:msg}"
        }
        Msg::RiskAcceptanceExpired => "risk acceptance approved by {approver} expired on {date}",
        Msg::SeeConditions => "see {conditions:list}",
        Msg::ObjectMissing => "{object} does not exist",
        Msg::ObjectMissingOffline => "{object} does not exist in the manifests read",
        Msg::NotInManifests => "{object} is not in the manifests read",
        Msg::ReadinessOnlyLive => "readiness of {object} is only known in the cluster",
        Msg::NoTrainingEnvironment => "no training environment is declared",
        Msg::NoInferenceEnvironment => "no inference environment is declared",
        Msg::NoPodsMatch => "no pod in {namespace} matches spec.{role}.podSelector",
        Msg::NoPodsMatchOffline => {
            "no pod in {namespace} matches spec.{role}.podSelector (not in the manifests read)"
        }
        Msg::EnforceCreates => "{message:msg}; the operator creates it (Enforce mode)",
        Msg::EnforceInjects => "{message:msg}; the operator injects it (Enforce mode)",

        // Evidence.
        Msg::EvidenceRow => "row {row}",
        Msg::EvidenceMeasure => "measure {measure}",
        Msg::EvidenceValid => {
            "attested by {attester} in ComplianceEvidence {evidence}, valid until {date}"
        }
        Msg::EvidenceExpiresSoon => "expires in {days} days: attest again",
        Msg::EvidenceExpired => {
            "ComplianceEvidence {evidence} for {obligation:msg} expired on {date}: create a new one"
        }
        Msg::EvidenceNotYetValid => {
            "ComplianceEvidence {evidence} for {obligation:msg} is attested for {date}, later than now"
        }
        Msg::EvidenceMissing => "no ComplianceEvidence attests it",
        Msg::EvidenceMissingElsewhere => {
            "no ComplianceEvidence attests it ({evidence:list} covers {obligation:msg} but targets other deployments)"
        }
        Msg::OrAttest => "{cluster:msg}; or attest it: {evidence:msg}",

        // Datasets (rows 4 to 15).
        Msg::DeclareDatasets => "declare spec.training.datasets",
        Msg::NoPersonalData => "no declared dataset contains personal information",
        Msg::NoCrawledData => "no declared dataset was crawled",
        Msg::DatasetsAcquisitionDeclared => {
            "{count} of {total} dataset(s) declare how they were acquired and on what legal basis"
        }
        Msg::DatasetsAcquisitionMissing => {
            "dataset(s) {datasets:list} lack acquisition or legalBasis"
        }
        Msg::DatasetsLicensed => "{count} of {total} dataset(s) declare a license",
        Msg::DatasetsLicenseMissing => "dataset(s) {datasets:list} declare no license",
        Msg::PersonalDataHasLegalBasis => {
            "{count} of {total} dataset(s) with personal information declare a legal basis"
        }
        Msg::PersonalDataLegalBasisMissing => {
            "dataset(s) {datasets:list} contain personal information but declare no legalBasis"
        }
        Msg::CrawlingCompliant => {
            "{count} of {total} dataset(s) crawled respected robots rules, terms and access controls"
        }
        Msg::CrawlingNotCompliant => {
            "dataset(s) {datasets:list} were crawled without declaring robotsRespected, termsRespected and noAccessControlBypass all true"
        }
        Msg::PersonalDataDesensitized => {
            "{count} of {total} dataset(s) with personal information are desensitized"
        }
        Msg::PersonalDataNotDesensitized => {
            "dataset(s) {datasets:list} contain personal information but are not declared desensitized"
        }
        Msg::DatasetsValidated => "{count} of {total} dataset(s) declare a validation method",
        Msg::DatasetsValidationMissing => "dataset(s) {datasets:list} declare no validationMethod",
        Msg::DatasetsCleaned => "{count} of {total} dataset(s) declare a cleaning step",
        Msg::DatasetsCleaningMissing => "dataset(s) {datasets:list} declare no cleaning step",
        Msg::DatasetsFresh => "every dataset updated within {days} days",
        Msg::DatasetUpdateUndeclared => "{dataset} declares no lastUpdated",
        Msg::DatasetUpdateNotADate => "{dataset}: lastUpdated {date} is not a date",
        Msg::DatasetUpdateInFuture => "{dataset}: lastUpdated {date} is in the future",
        Msg::DatasetStale => "{dataset} last updated {date}, {age} days ago (max {max})",
        Msg::SourcesDiverse => "{count} distinct sources (min {min})",
        Msg::TooFewSources => {
            "{count} distinct source(s) declared ({sources:list}); the policy asks for at least {min}"
        }
        Msg::ProvenanceRecorded => "{count} of {total} dataset(s) declare a provenance record",
        Msg::ProvenanceMissing => "dataset(s) {datasets:list} declare no provenanceRef",
        Msg::PersonalDataConsented => {
            "{count} of {total} dataset(s) with personal information rest on consent or a legal duty"
        }
        Msg::PersonalDataConsentMissing => {
            "dataset(s) {datasets:list} contain personal information without Consent or LegalDuty as legalBasis"
        }

        // Annotation (row 22).
        Msg::NoAnnotationBatches => {
            "spec.training.annotationBatches is empty: record the sampling of every annotation batch"
        }
        Msg::BatchNotSampled => "batch {batch} was not sampled",
        Msg::BatchNotVoided => {
            "batch {batch} has {ratio} illegal content in its sample (max {max}) and is not voided"
        }
        Msg::BatchesSampled => "{count} batch(es) sampled; {voided} over the limit voided",

        // Security assessment and filing (rows 24, 25).
        Msg::AssessmentMissing => "spec.service.securityAssessment is not declared",
        Msg::AssessmentDateInvalid => "securityAssessment.date {date} is not a date",
        Msg::AssessmentStale => {
            "security assessment of {date} is {age} days old (max {max}): assess again"
        }
        Msg::AssessmentInFuture => "security assessment date {date} is in the future",
        Msg::AssessmentCurrent => "assessment {reference} of {date}",
        Msg::NotPublicService => "the service is not offered to the public",
        Msg::FilingMissing => "spec.service.filingNumber is not declared",
        Msg::FiledVersionMissing => {
            "filing {filing} declares no filedModelVersion: state which model version the filing covers"
        }
        Msg::RefilingRequired => {
            "filing {filing} covers model version {filed} but version {version} is served: file the change"
        }
        Msg::Filed => "filing {filing} covers version {version}",

        // Public service (rows 34 to 39).
        Msg::UsagePublished => "published at {url}",
        Msg::DisclosureMissing => "spec.service.disclosureUrl is not declared",
        Msg::RetentionUndeclared => "spec.service.inputRetentionDays is not declared",
        Msg::RetentionTooLong => "user input is kept {days} days; the policy allows at most {max}",
        Msg::RetentionLimited => "user input kept {days} days (max {max})",
        Msg::PersonalInfoChannelMissing => "spec.service.personalInfoChannel is not declared",
        Msg::ComplaintChannelMissing => "spec.service.complaintChannel is not declared",
        Msg::ResponseTooSlow => {
            "{channel} promises an answer in {days} days; the policy allows at most {max}"
        }
        Msg::ChannelOpen => "{url} answers within {days} days (max {max})",
        Msg::MinorsNotAdmitted => "the declared audiences do not include minors",
        Msg::MinorsProtectionMissing => {
            "audiences include Minors but spec.service.minorsProtection is not declared"
        }
        Msg::MinorsProtected => "minors mode, time limits and age-appropriate content enabled",
        Msg::MinorsProtectionIncomplete => "minorsProtection lacks {fields:list}",

        // Supervision (row 42).
        Msg::ReportComplete => {
            "sources, scale, annotation rules and algorithm declared for the regulator report"
        }
        Msg::ReportLacks => "the regulator report lacks {fields:list}",
        Msg::ReportLacksRecords => {
            "the regulator report lacks records and source of dataset(s) {datasets:list}"
        }
        Msg::ReportLacksFieldsAndRecords => {
            "the regulator report lacks {fields:list}, records and source of dataset(s) {datasets:list}"
        }
        Msg::TrainingUndeclared => "training (datasets and annotation rules)",

        // Safety evaluations (rows 31 to 33).
        Msg::SampleManual => "manual",
        Msg::SampleAutomated => "automated",
        Msg::SampleKeyword => "keyword",
        Msg::SampleClassifier => "classifier",
        Msg::SampleShouldRefuse => "should-refuse",
        Msg::SampleTooSmall => "{sample:msg} sample has {items} items (min {min})",
        Msg::PassRateTooLow => "{sample:msg} pass rate {rate} is below {min}",
        Msg::CorpusEvaluationMissing => {
            "no corpus safety evaluation recorded in spec.evaluation.corpus"
        }
        Msg::AutomatedCoverageTooLow => "automated sample covers {ratio} of the corpus (min {min})",
        Msg::CorpusEvaluated => {
            "manual {manual_rate} of {manual_items} passed, automated {automated_rate} of {automated_items} ({coverage} of the corpus) on {date}"
        }
        Msg::ContentEvaluationMissing => {
            "no generated-content safety evaluation recorded in spec.evaluation.generatedContent"
        }
        Msg::ContentEvaluated => {
            "manual {manual}, keyword {keyword}, classifier {classifier} passed on {date}"
        }
        Msg::RefusalEvaluationMissing => {
            "no refusal evaluation recorded in spec.evaluation.refusal"
        }
        Msg::ShouldAnswerTooSmall => "should-answer set has {items} items (min {min})",
        Msg::OverRefusal => "{rate} of should-answer items refused (max {max})",
        Msg::RefusalEvaluated => {
            "refused {refused} of should-refuse items and {over_refused} of should-answer items on {date}"
        }

        // Platform monitoring and recurring jobs (rows 2, 28, 8.1c).
        Msg::NoMonitoringNamed => "the policy names no clusterChecks.platformMonitoring workload",
        Msg::NoReadyReplica => "{workload} has no ready replica",
        Msg::ReadyReplicas => "{workload} has {count} ready replica(s)",
        Msg::NoJobNamed => "the policy names no clusterChecks.{field} CronJob",
        Msg::LastRunOnlyLive => "the last successful run of {job} is only known in the cluster",
        Msg::JobNeverSucceeded => "{job} has never succeeded",
        Msg::JobStale => "{job} last succeeded {days} days ago (max {max})",
        Msg::JobRecent => "{job} succeeded {days} day(s) ago",

        // Sidecar (rows 27, 37, 8.1b).
        Msg::InputFilterSee => "input-safety filter: see {condition}",
        Msg::LabelingSidecarSee => "labeling sidecar: see {condition}",
        Msg::SidecarPrefixed => "sidecar: {message:msg}",
        Msg::PodsOfTotal => "{count} of {total} inference pods",
        Msg::SidecarImageMismatch => {
            "{pods:msg} run(s) {sidecar} image {image} instead of {wanted}"
        }
        Msg::SidecarNotReady => "{sidecar} is not ready in {count} of {total} inference pods",
        Msg::SidecarMissing => "{pods:msg} lack(s) the {sidecar} container",
        Msg::ProviderMissing => {
            "{message:msg}, and the operator cannot inject it: spec.service.provider, which the sidecar writes as ContentProducer, is not set"
        }
        Msg::SidecarInPlace => {
            "{sidecar} in every inference pod, Service routed through port {port}"
        }
        Msg::WorkloadMissing => "{workload} named in spec.inference.workloads does not exist",
        Msg::WorkloadMissingOffline => {
            "{workload} named in spec.inference.workloads does not exist in the manifests read"
        }
        Msg::NoService => "no Service in namespace {namespace} routes to the inference pods",
        Msg::ServiceSelectsOtherPods => "Service {service} does not select the inference pods",
        Msg::SidecarBypassed => {
            "Service {service} port {port} targets {target}, bypassing {sidecar} on port {sidecar_port}"
        }

        // Kill switch (row 40).
        Msg::SelectorEmpty => {
            "spec.inference.podSelector is empty: the kill switch would cut every pod in the namespace"
        }
        Msg::Suspended => "suspended: all ingress to the inference pods is denied",
        Msg::SuspendNotApplied => {
            "spec.suspend is true but no deny-all NetworkPolicy covers the inference pods yet"
        }
        Msg::SuspendPending => {
            "spec.suspend is true; the operator applies the deny-all NetworkPolicy in the cluster"
        }
        Msg::KillSwitchArmed => {
            "kill switch armed: spec.suspend cuts ingress to the inference pods"
        }
        Msg::ProcedureAttested => "procedure {evidence:msg}",
        Msg::ProcedureMissing => "procedure: {evidence:msg}",

        // Isolation (8.1a, row 23).
        Msg::SingleEnvironment => {
            "training and inference are not both declared, so there is nothing to isolate"
        }
        Msg::NothingShared => "no shared volumes or service accounts",
        Msg::SelectorsOverlap => "{pod} matches both the training and the inference selector",
        Msg::SharedServiceAccount => {
            "training and inference pods share service account(s) {accounts:list}"
        }
        Msg::SharedNode => "training and inference pods share node(s) {nodes:list}",
        Msg::NodePlacementUnknown => "node placement is only known in the cluster",
        Msg::SharedVolume => "{pod} mounts training volume(s) {volumes:list}",
        Msg::SharedClaimName => {
            "{pod} mounts claim(s) {claims:list} named as training data volumes"
        }
        Msg::IngressFromAnySource => "{policy} allows ingress from any source",
        Msg::IngressFromIpBlock => "{policy} allows ingress from ipBlock {cidr}",
        Msg::IngressFromEveryNamespace => "{policy} allows ingress from every namespace",
        Msg::IngressFromNamespace => "{policy} allows ingress from namespace {namespace}",
        Msg::IngressFromStrangers => "{policy} admits non-training pods {pods:list}",
        Msg::NetworkPolicyMissing => "no NetworkPolicy restricts ingress to {pods:list}",
        Msg::IngressRestricted => {
            "ingress to {count} training pod(s) only from training peers and namespace(s) {namespaces:list}"
        }
        Msg::AnnotationVolumesUndeclared => {
            "spec.training.safetyAnnotationVolumes is empty: declare where safety-annotation data is stored"
        }
        Msg::MountedOutsideTraining => "{pod} is not a training pod but mounts {volumes:list}",
        Msg::TrainingNotIsolated => "training environment not isolated: see {condition}",
        Msg::IsolationSee => "isolation: see {condition}",
        Msg::AnnotationsIsolated => "{volumes:list} mounted only by training pods",

        // Access control (8.1a, row 19).
        Msg::NoTrainingData => "no training data is declared for this deployment",
        Msg::NoOtherBinding => "no other binding grants training data",
        Msg::OverBroadBinding => {
            "RoleBinding {binding} grants training data to {kind} {subject} who is not a named reader"
        }
        Msg::ReaderBindingMissing => {
            "reader(s) {readers:list} have no RoleBinding to training data"
        }
        Msg::ReadersBound => "{count} named reader(s) bound",
        Msg::AccessReviewOnlyLive => {
            "that inference service accounts cannot read training data is proven by SubjectAccessReview in the cluster"
        }
        Msg::AccessReviewPending => "no SubjectAccessReview answer yet for {account}",
        Msg::InferenceCanRead => {
            "inference service account {account} can read {resource} in namespace {namespace}"
        }
        Msg::AccessDenied => "SubjectAccessReview denies {count} inference service account(s)",

        // Backups (8.1e).
        Msg::NoVolumesDeclared => {
            "declare training.dataVolumes or inference.modelVolumes so that they are backed up"
        }
        Msg::InvalidBackupSchedule => "controls.backup: {error:msg}",
        Msg::InvalidDrillSchedule => "controls.backup.restoreDrill: {error:msg}",
        Msg::ScheduleNotCron => {
            "schedule {expression} is not a five-field cron expression: {error:code}"
        }
        Msg::TimeZoneUnknown => "time zone {zone} is not known",
        Msg::BackupAgeOnlyLive => {
            "the age of the newest backup of {volumes:list} is only known in the cluster (max {max} h)"
        }
        Msg::SnapshotApiMissing => {
            "the VolumeSnapshot API (snapshot.storage.k8s.io/v1) is not installed, so {volumes:list} cannot be backed up; install the CSI snapshot CRDs and controller, or set controls.backup.engine: Velero"
        }
        Msg::NoReadySnapshot => "no ready VolumeSnapshot of {volumes:list}",
        Msg::BackupTooOld => "newest backup of {volume} is {hours} h old (max {max} h)",
        Msg::BackupsCurrent => {
            "every declared volume ({volumes:list}) has a ready backup younger than {max} h"
        }
        Msg::VeleroMissing => {
            "Velero (velero.io/v1 Schedules and Backups) is not installed, so namespaces {namespaces:list} cannot be backed up; install Velero or set controls.backup.engine: VolumeSnapshot"
        }
        Msg::NoVeleroBackup => {
            "no completed Velero Backup in namespace {velero_namespace} covers {namespaces:list} (Schedule {schedule})"
        }
        Msg::VeleroBackupTooOld => {
            "newest Velero Backup {backup} of {namespaces:list} is {hours} h old (max {max} h)"
        }
        Msg::VeleroBackupCurrent => {
            "Velero Backup {backup} of {namespaces:list} completed {hours} h ago (max {max} h)"
        }
        Msg::NoBackupToRestore => "no ready backup of {volume} to restore",
        Msg::RestoreDidNotBind => {
            "claim {claim} restored from {snapshot} did not bind within {timeout} s"
        }

        // Summary conditions and the restore drill.
        Msg::ControlsApplied => "the controls of this generation are in place",
        Msg::ControlsAppliedSuspended => {
            "the controls of this generation are in place and inference is suspended: all ingress to the inference pods is denied"
        }
        Msg::RiskSummary => {
            "risk {risk} with {ratio} rows met; {not_met} not met, {unknown} unknown, {excepted} excepted"
        }
        Msg::MostSevereOpen => "most severe open: {conditions:list}",
        Msg::NothingToApply => "nothing left to apply",
        Msg::NoPermanentProblem => "no permanent problem",
        Msg::PolicyNotFound => {
            "CompliancePolicy {policy} does not exist; waiting for it to be created"
        }
        Msg::DrillRunning => "restore drill of {slot} is running",
        Msg::DrillSucceeded => "restore drill of {slot}: {volumes:msg}",
        Msg::VolumeRestored => "{volume} restored from {snapshot} in {seconds} s",
        Msg::DrillFailed => "restore drill of {slot} failed: {volumes:msg}",

        // Report labels.
        Msg::EvidenceRelied => "evidence: {evidence:list}",
        Msg::EvidenceUntil => "{evidence} (until {date})",

        // What a report says of a status it cannot show in full.
        Msg::NotInStatus => "the status has no condition for it",
        Msg::NotEvaluatedYet => "not evaluated by the operator yet",
        Msg::NotEvaluatedYetBecause => {
            "not evaluated by the operator yet: {message:msg} ({reason})"
        }
        Msg::StatusBehind => {
            "the status describes generation {observed} but the spec is at generation {generation}: the operator has not caught up"
        }

        // Problems with the manifests read, and with the objects a report reads. What a
        // parser or a validation rule of the CRDs says is quoted as it is.
        Msg::ProblemAt => "{file}:{line}: document {document}: {message:msg}",
        Msg::ProblemIn => "{file}: {message:msg}",
        Msg::CannotRead => "cannot read: {error:code}",
        Msg::CannotList => "cannot list: {error:code}",
        Msg::NotOurResource => {
            "{kind} of {api_version} is not a resource of this operator (expected {expected})"
        }
        Msg::Duplicate => {
            "duplicate {kind} {name}: first defined at {file}:{line} (document {document})"
        }
        Msg::MalformedYaml => "malformed YAML: {error:code}",
        Msg::NotAnObject => "not a Kubernetes object: apiVersion and kind are required",
        Msg::NoName => "{kind} has no metadata.name",
        Msg::UnknownField => "unknown field `{field}`",
        Msg::InvalidField => "invalid `{field}`: {error:code}",
        Msg::RejectedByRule => "rejected by rule: {error:code}",
        Msg::PolicyNotInManifests => {
            "ModelDeployment {name} references CompliancePolicy {policy}, which is not in the manifests read"
        }
        Msg::PolicyMissing => {
            "ModelDeployment {name} references CompliancePolicy {policy}, which does not exist"
        }
    }
}
