//! A human text for every condition reason: what the CamelCase reason means, in English and
//! Chinese. A met row's message is empty in the status, so its reason is all a report has.

/// (reason, English, Chinese), by the concern that gives the reason.
pub(super) const REASONS: &[(&str, &str, &str)] = &[
    // Policy, exceptions and evidence.
    (
        "NotApplicableByPolicy",
        "not applicable under the policy",
        "策略规定不适用",
    ),
    (
        "RiskAccepted",
        "risk accepted until the exception expires",
        "风险已接受，在例外到期前有效",
    ),
    (
        "EvidenceValid",
        "attested by valid evidence",
        "已有有效证据证明",
    ),
    (
        "EvidenceExpiringSoon",
        "attested, but the evidence expires soon",
        "已有证据证明，但即将到期",
    ),
    ("EvidenceExpired", "the evidence has expired", "证据已过期"),
    (
        "EvidenceNotYetValid",
        "the evidence is not valid yet",
        "证据尚未生效",
    ),
    ("EvidenceMissing", "no evidence attests it", "缺少证明材料"),
    // Datasets.
    (
        "NoDatasetsDeclared",
        "no training datasets declared",
        "未声明训练数据集",
    ),
    (
        "NoPersonalInformation",
        "no dataset contains personal information",
        "数据集均不含个人信息",
    ),
    (
        "NoCrawledData",
        "no dataset was crawled",
        "数据集均非爬取所得",
    ),
    (
        "SourcesLawful",
        "every dataset obtained lawfully",
        "训练数据均以合法方式取得",
    ),
    (
        "AcquisitionUndeclared",
        "acquisition or legal basis undeclared",
        "未声明取得方式或合法性基础",
    ),
    (
        "DatasetsLicensed",
        "every dataset licensed",
        "数据集均有许可",
    ),
    (
        "LicenseMissing",
        "a dataset declares no license",
        "有数据集未声明许可",
    ),
    (
        "PersonalDataHasLegalBasis",
        "personal information has a legal basis",
        "个人信息具备合法性基础",
    ),
    (
        "LegalBasisMissing",
        "personal information without a legal basis",
        "个人信息缺少合法性基础",
    ),
    (
        "CrawlingCompliant",
        "crawling follows industry practice",
        "爬取符合行业惯例",
    ),
    (
        "CrawlNotCompliant",
        "crawling not shown to follow industry practice",
        "爬取未证明符合行业惯例",
    ),
    (
        "PersonalDataDesensitized",
        "personal information desensitized",
        "个人信息已脱敏",
    ),
    (
        "NotDesensitized",
        "personal information not desensitized",
        "个人信息未脱敏",
    ),
    (
        "DatasetsValidated",
        "authenticity and accuracy validated",
        "数据真实性和准确性已验证",
    ),
    (
        "ValidationMissing",
        "a dataset declares no validation",
        "有数据集未声明验证方式",
    ),
    (
        "DatasetsCleaned",
        "errors and outliers cleaned",
        "错误和异常值已清洗",
    ),
    (
        "CleaningMissing",
        "a dataset declares no cleaning",
        "有数据集未声明清洗步骤",
    ),
    (
        "DataFresh",
        "training data updated recently",
        "训练数据已定期更新",
    ),
    (
        "DataStale",
        "training data not updated recently",
        "训练数据未及时更新",
    ),
    (
        "SourcesDiverse",
        "several data sources integrated",
        "已整合多个数据源",
    ),
    (
        "TooFewSources",
        "too few distinct data sources",
        "数据源过少",
    ),
    (
        "ProvenanceRecorded",
        "provenance and processing recorded",
        "来源和处理历史已记录",
    ),
    (
        "ProvenanceMissing",
        "provenance not recorded",
        "未记录来源和处理历史",
    ),
    (
        "PersonalDataConsented",
        "personal information used with consent",
        "个人信息的使用已取得同意",
    ),
    (
        "ConsentMissing",
        "personal information used without consent",
        "个人信息的使用未取得同意",
    ),
    // Annotation.
    (
        "NoAnnotationBatches",
        "no annotation batch recorded",
        "未记录标注批次",
    ),
    (
        "BatchesSampled",
        "every annotation batch sampled",
        "每批标注数据均已抽检",
    ),
    (
        "BatchNotVoided",
        "an annotation batch over the limit is not voided",
        "超限的标注批次未作废",
    ),
    // Security assessment, filing, public service.
    (
        "AssessmentMissing",
        "no security assessment declared",
        "未声明安全评估",
    ),
    (
        "AssessmentDateInvalid",
        "security assessment date is not a date",
        "安全评估日期无效",
    ),
    (
        "AssessmentStale",
        "security assessment too old",
        "安全评估已过期",
    ),
    (
        "AssessmentInFuture",
        "security assessment dated in the future",
        "安全评估日期晚于当前日期",
    ),
    (
        "AssessmentCurrent",
        "security assessment current",
        "安全评估在有效期内",
    ),
    (
        "NotPublicService",
        "the service is not public",
        "服务不面向公众",
    ),
    (
        "FilingMissing",
        "no algorithm filing declared",
        "未声明算法备案",
    ),
    (
        "FiledVersionMissing",
        "the filed model version is not declared",
        "未声明备案对应的模型版本",
    ),
    (
        "RefilingRequired",
        "the served version differs from the filed one",
        "在线版本与备案版本不一致，需办理变更备案",
    ),
    ("Filed", "the served version is filed", "在线版本已备案"),
    (
        "UsagePublished",
        "audiences, occasions and uses published",
        "适用人群、场合、用途已公开",
    ),
    (
        "DisclosureMissing",
        "no disclosure published",
        "未公开适用人群、场合、用途",
    ),
    (
        "RetentionUndeclared",
        "input retention undeclared",
        "未声明输入信息留存期限",
    ),
    (
        "RetentionTooLong",
        "user input kept too long",
        "输入信息留存过久",
    ),
    (
        "RetentionLimited",
        "user input kept within the limit",
        "输入信息留存未超期",
    ),
    ("ChannelMissing", "no channel declared", "未声明受理渠道"),
    (
        "ResponseTooSlow",
        "answers promised too late",
        "承诺的反馈时限过长",
    ),
    (
        "ChannelOpen",
        "channel open, answers in time",
        "渠道畅通，及时反馈",
    ),
    (
        "MinorsNotAdmitted",
        "minors are not admitted",
        "服务不面向未成年人",
    ),
    (
        "MinorsProtectionMissing",
        "no minors protection declared",
        "未声明未成年人保护措施",
    ),
    (
        "MinorsProtectionIncomplete",
        "minors protection incomplete",
        "未成年人保护措施不完整",
    ),
    (
        "MinorsProtected",
        "minors protected",
        "已设置未成年人保护措施",
    ),
    (
        "ReportComplete",
        "enough declared for the regulator",
        "可向主管部门说明",
    ),
    (
        "ReportIncomplete",
        "not enough declared for the regulator",
        "向主管部门说明所需信息不全",
    ),
    // Safety evaluations.
    (
        "EvaluationMissing",
        "no evaluation recorded",
        "未记录评估结果",
    ),
    (
        "ThresholdsMet",
        "evaluation meets the thresholds",
        "评估结果达标",
    ),
    (
        "BelowThreshold",
        "evaluation below the thresholds",
        "评估结果未达标",
    ),
    // Cluster checks.
    (
        "NothingNamed",
        "the policy names nothing to check",
        "策略未指定检查对象",
    ),
    (
        "MonitoringMissing",
        "monitoring workload missing",
        "监测工作负载不存在",
    ),
    (
        "MonitoringNotReady",
        "monitoring workload not ready",
        "监测工作负载未就绪",
    ),
    (
        "MonitoringReady",
        "monitoring workload ready",
        "监测工作负载已就绪",
    ),
    (
        "NotInManifests",
        "not in the manifests read",
        "所读取的清单中没有",
    ),
    (
        "ReadinessUnknown",
        "readiness only known in the cluster",
        "是否就绪只能在集群中确认",
    ),
    ("JobMissing", "the CronJob does not exist", "CronJob 不存在"),
    (
        "LastRunUnknown",
        "last run only known in the cluster",
        "最近运行时间只能在集群中确认",
    ),
    (
        "NeverSucceeded",
        "the CronJob never succeeded",
        "CronJob 从未成功运行",
    ),
    (
        "JobStale",
        "the CronJob has not succeeded recently",
        "CronJob 近期未成功运行",
    ),
    (
        "JobRecent",
        "the CronJob succeeded recently",
        "CronJob 近期已成功运行",
    ),
    // Sidecar.
    (
        "SidecarInPlace",
        "sidecar in every inference pod",
        "每个推理 Pod 都运行了 sidecar",
    ),
    (
        "NoInferencePods",
        "no inference pods found",
        "未找到推理 Pod",
    ),
    (
        "WorkloadMissing",
        "a named workload does not exist",
        "指定的工作负载不存在",
    ),
    (
        "WorkloadNotInManifests",
        "a named workload is not in the manifests read",
        "所读取的清单中没有指定的工作负载",
    ),
    (
        "SidecarImageMismatch",
        "sidecar runs another image",
        "sidecar 镜像不符",
    ),
    ("SidecarNotReady", "sidecar not ready", "sidecar 未就绪"),
    ("SidecarMissing", "sidecar missing", "缺少 sidecar"),
    (
        "ProviderMissing",
        "the sidecar cannot be injected without a provider",
        "未设置提供者，无法注入 sidecar",
    ),
    (
        "PendingInjection",
        "the operator injects the sidecar",
        "Operator 将注入 sidecar",
    ),
    (
        "NoService",
        "no Service routes to the inference pods",
        "没有路由到推理 Pod 的 Service",
    ),
    (
        "ServiceSelectsOtherPods",
        "the Service selects other pods",
        "Service 选中了其他 Pod",
    ),
    (
        "ServiceMissing",
        "the named Service does not exist",
        "指定的 Service 不存在",
    ),
    (
        "ServiceNotInManifests",
        "the named Service is not in the manifests read",
        "所读取的清单中没有指定的 Service",
    ),
    (
        "SidecarBypassed",
        "the Service bypasses the sidecar",
        "Service 绕过了 sidecar",
    ),
    // Kill switch.
    (
        "NoInferenceEnvironment",
        "no inference environment",
        "未声明推理环境",
    ),
    (
        "SelectorEmpty",
        "the inference pod selector is empty",
        "推理 Pod 选择器为空",
    ),
    (
        "SuspendNotApplied",
        "suspension not applied yet",
        "暂停尚未生效",
    ),
    (
        "SuspendPending",
        "the operator applies the suspension",
        "Operator 将执行暂停",
    ),
    (
        "KillSwitchReady",
        "inference can be stopped at once",
        "可及时停止生成和传输",
    ),
    // Isolation.
    (
        "Isolated",
        "training and inference isolated",
        "训练与推理环境已隔离",
    ),
    (
        "SingleEnvironment",
        "only one environment declared",
        "只声明了一个环境",
    ),
    ("NoTrainingPods", "no training pods found", "未找到训练 Pod"),
    (
        "SelectorsOverlap",
        "a pod is both training and inference",
        "有 Pod 同时属于训练和推理",
    ),
    (
        "SharedVolume",
        "inference mounts training volumes",
        "推理 Pod 挂载了训练数据卷",
    ),
    (
        "SharedServiceAccount",
        "training and inference share a service account",
        "训练与推理共用服务账号",
    ),
    (
        "SharedNode",
        "training and inference share a node",
        "训练与推理共用节点",
    ),
    (
        "NodePlacementUnknown",
        "node placement only known in the cluster",
        "所在节点只能在集群中确认",
    ),
    (
        "IngressTooBroad",
        "a NetworkPolicy admits too much",
        "NetworkPolicy 放行范围过宽",
    ),
    (
        "NetworkPolicyMissing",
        "no NetworkPolicy isolates training",
        "没有隔离训练环境的 NetworkPolicy",
    ),
    (
        "PendingEnforcement",
        "the operator creates what is missing",
        "Operator 将创建缺少的对象",
    ),
    (
        "NoTrainingEnvironment",
        "no training environment",
        "未声明训练环境",
    ),
    (
        "VolumesNotDeclared",
        "safety-annotation volumes undeclared",
        "未声明安全性标注数据卷",
    ),
    (
        "MountedOutsideTraining",
        "safety-annotation data mounted outside training",
        "安全性标注数据被训练以外的 Pod 挂载",
    ),
    (
        "TrainingNotIsolated",
        "the training environment is not isolated",
        "训练环境未隔离",
    ),
    (
        "StoredInIsolation",
        "safety-annotation data stored in isolation",
        "安全性标注数据隔离存储",
    ),
    // Access control.
    ("NoTrainingData", "no training data", "未声明训练数据"),
    (
        "ProtectionsInPlace",
        "access control, isolation and backups in place",
        "访问控制、隔离和备份均已就位",
    ),
    (
        "AccessRestricted",
        "access to training data restricted",
        "训练数据访问已受控",
    ),
    (
        "OverBroadBinding",
        "a binding grants training data too widely",
        "有 RoleBinding 授权范围过宽",
    ),
    (
        "ReaderBindingMissing",
        "a named reader has no binding",
        "指定读取者缺少 RoleBinding",
    ),
    (
        "AccessReviewPending",
        "access review pending",
        "访问审查尚无结果",
    ),
    (
        "InferenceCanReadTrainingData",
        "inference can read training data",
        "推理服务可读取训练数据",
    ),
    // Backups.
    (
        "NoVolumesDeclared",
        "no volumes declared for backup",
        "未声明需备份的存储卷",
    ),
    (
        "InvalidSchedule",
        "the backup schedule is invalid",
        "备份计划无效",
    ),
    (
        "BackupAgeUnknown",
        "backup age only known in the cluster",
        "备份时间只能在集群中确认",
    ),
    (
        "SnapshotApiMissing",
        "the VolumeSnapshot API is not installed",
        "未安装 VolumeSnapshot API",
    ),
    ("VeleroMissing", "Velero is not installed", "未安装 Velero"),
    ("NoBackup", "no backup", "没有备份"),
    (
        "BackupTooOld",
        "the newest backup is too old",
        "最新备份过旧",
    ),
    ("BackupsCurrent", "backups current", "备份及时"),
    (
        "RestoreDrillFailed",
        "the restore drill failed",
        "恢复演练失败",
    ),
    // Summary conditions and the restore drill.
    ("ControlsApplied", "controls applied", "控制措施已就位"),
    (
        "InferenceSuspended",
        "controls applied, inference suspended",
        "控制措施已就位，推理服务已暂停",
    ),
    ("PolicyNotFound", "the policy does not exist", "策略不存在"),
    ("NotEvaluated", "not evaluated yet", "尚未评估"),
    (
        "NotInStatus",
        "the status has no condition for it",
        "状态中没有该条目的条件",
    ),
    ("RiskAcceptable", "risk acceptable", "风险可接受"),
    ("RiskUnacceptable", "risk not acceptable", "风险不可接受"),
    ("Settled", "nothing left to apply", "没有待应用的变更"),
    (
        "Progressing",
        "no permanent problem",
        "没有需要人工处理的问题",
    ),
    ("RestoreRunning", "restore drill running", "恢复演练进行中"),
    (
        "RestoreSucceeded",
        "restore drill succeeded",
        "恢复演练成功",
    ),
    ("RestoreFailed", "restore drill failed", "恢复演练失败"),
];
