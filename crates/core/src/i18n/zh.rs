//! 中文消息模板：与 `en.rs` 一一对应，占位符同名。行的用语取自标准附录 A 表 A.1 及 8.1 条。

use super::Msg;

pub(super) const fn template(id: Msg) -> &'static str {
    match id {
        Msg::AndMore => "另有 {count} 项未列出",
        Msg::NotApplicableByPolicy => "策略 {policy} 规定不适用：{remark}",
        Msg::RiskAccepted => {
            "风险已由 {approver} 接受，有效期至 {date}（{justification}）；若无此风险接受：{message}"
        }
        Msg::RiskAcceptanceExpired => "{approver} 批准的风险接受已于 {date} 到期",
        Msg::SeeConditions => "详见 {conditions}",
        Msg::ObjectMissing => "{object} 不存在",
        Msg::ObjectMissingOffline => "所读取的清单中没有 {object}",
        Msg::NotInManifests => "所读取的清单中没有 {object}",
        Msg::ReadinessOnlyLive => "{object} 是否就绪只能在集群中确认",
        Msg::NoTrainingEnvironment => "未声明训练环境",
        Msg::NoInferenceEnvironment => "未声明推理环境",
        Msg::NoPodsMatch => "命名空间 {namespace} 中没有与 spec.{role}.podSelector 匹配的 Pod",
        Msg::NoPodsMatchOffline => {
            "命名空间 {namespace} 中没有与 spec.{role}.podSelector 匹配的 Pod（所读取的清单中没有）"
        }
        Msg::EnforceCreates => "{message}；Operator 将自动创建（Enforce 模式）",
        Msg::EnforceInjects => "{message}；Operator 将自动注入（Enforce 模式）",

        Msg::EvidenceRow => "第 {row} 项义务",
        Msg::EvidenceMeasure => "技术措施 {measure}",
        Msg::EvidenceValid => {
            "已由 {attester} 以 ComplianceEvidence {evidence} 证明，有效期至 {date}"
        }
        Msg::EvidenceExpiresSoon => "{days} 天后到期：请重新出具证明",
        Msg::EvidenceExpired => {
            "{obligation}的 ComplianceEvidence {evidence} 已于 {date} 过期：请新建一份证明"
        }
        Msg::EvidenceNotYetValid => {
            "{obligation}的 ComplianceEvidence {evidence} 证明日期为 {date}，晚于当前时间"
        }
        Msg::EvidenceMissing => "没有证明此项的 ComplianceEvidence",
        Msg::EvidenceMissingElsewhere => {
            "没有证明此项的 ComplianceEvidence（{evidence} 涉及{obligation}，但针对的是其他部署）"
        }
        Msg::OrAttest => "{cluster}；或出具证明：{evidence}",

        Msg::DeclareDatasets => "未声明训练数据集：请填写 spec.training.datasets",
        Msg::NoPersonalData => "声明的数据集均不含个人信息",
        Msg::NoCrawledData => "声明的数据集均非利用爬虫技术获得",
        Msg::DatasetsAcquisitionDeclared => "{count}/{total} 个数据集已声明取得方式和合法性基础",
        Msg::DatasetsAcquisitionMissing => {
            "数据集 {datasets} 未声明取得方式（acquisition）或合法性基础（legalBasis）"
        }
        Msg::DatasetsLicensed => "{count}/{total} 个数据集已声明许可协议",
        Msg::DatasetsLicenseMissing => "数据集 {datasets} 未声明许可协议（license）",
        Msg::PersonalDataHasLegalBasis => "{count}/{total} 个含个人信息的数据集已声明合法性基础",
        Msg::PersonalDataLegalBasisMissing => {
            "数据集 {datasets} 含有个人信息，但未声明合法性基础（legalBasis）"
        }
        Msg::CrawlingCompliant => {
            "{count}/{total} 个爬取的数据集遵守了 robots 规则、网站条款和访问控制，爬取符合行业惯例"
        }
        Msg::CrawlingNotCompliant => {
            "数据集 {datasets} 利用爬虫技术获得，但未声明 robotsRespected、termsRespected 和 noAccessControlBypass 均为 true"
        }
        Msg::PersonalDataDesensitized => "{count}/{total} 个含个人信息的数据集已脱敏",
        Msg::PersonalDataNotDesensitized => {
            "数据集 {datasets} 含有个人信息，但未声明已采取数据脱敏措施"
        }
        Msg::DatasetsValidated => "{count}/{total} 个数据集已声明真实性与准确性的验证方式",
        Msg::DatasetsValidationMissing => "数据集 {datasets} 未声明验证方式（validationMethod）",
        Msg::DatasetsCleaned => "{count}/{total} 个数据集已声明清洗步骤",
        Msg::DatasetsCleaningMissing => "数据集 {datasets} 未声明错误和异常值的清洗步骤",
        Msg::DatasetsFresh => "所有数据集均在 {days} 天内更新过",
        Msg::DatasetUpdateUndeclared => "数据集 {dataset} 未声明更新日期（lastUpdated）",
        Msg::DatasetUpdateNotADate => "数据集 {dataset} 的更新日期 lastUpdated {date} 不是有效日期",
        Msg::DatasetUpdateInFuture => "数据集 {dataset} 的更新日期 lastUpdated {date} 晚于当前日期",
        Msg::DatasetStale => "数据集 {dataset} 最近更新于 {date}，已过去 {age} 天（上限 {max} 天）",
        Msg::SourcesDiverse => "共 {count} 个不同数据源（下限 {min} 个）",
        Msg::TooFewSources => "只声明了 {count} 个不同数据源（{sources}）；策略要求至少 {min} 个",
        Msg::ProvenanceRecorded => "{count}/{total} 个数据集已声明来源与处理历史记录",
        Msg::ProvenanceMissing => "数据集 {datasets} 未声明来源与处理历史记录（provenanceRef）",
        Msg::PersonalDataConsented => {
            "{count}/{total} 个含个人信息的数据集均以个人同意或法定义务为依据"
        }
        Msg::PersonalDataConsentMissing => {
            "数据集 {datasets} 含有个人信息，但其合法性基础（legalBasis）既不是个人同意（Consent）也不是法定义务（LegalDuty）"
        }

        Msg::NoAnnotationBatches => {
            "spec.training.annotationBatches 为空：请记录每一批标注数据的抽检结果"
        }
        Msg::BatchNotSampled => "标注批次 {batch} 未经抽检",
        Msg::BatchNotVoided => {
            "标注批次 {batch} 的抽检样本中违法不良信息占 {ratio}（上限 {max}），但该批次未作废"
        }
        Msg::BatchesSampled => "{count} 个标注批次均已抽检；超出上限的 {voided} 个批次已作废",

        Msg::AssessmentMissing => "未声明安全评估（spec.service.securityAssessment）",
        Msg::AssessmentDateInvalid => "安全评估日期 securityAssessment.date {date} 不是有效日期",
        Msg::AssessmentStale => {
            "{date} 的安全评估已过去 {age} 天（上限 {max} 天）：请重新开展安全评估"
        }
        Msg::AssessmentInFuture => "安全评估日期 {date} 晚于当前日期",
        Msg::AssessmentCurrent => "安全评估 {reference}（{date}）",
        Msg::NotPublicService => "服务不面向公众提供",
        Msg::FilingMissing => "未声明算法备案编号（spec.service.filingNumber）",
        Msg::FiledVersionMissing => {
            "备案 {filing} 未声明 filedModelVersion：请注明该备案对应的模型版本"
        }
        Msg::RefilingRequired => {
            "备案 {filing} 对应模型版本 {filed}，但在线服务的是版本 {version}：请办理变更备案手续"
        }
        Msg::Filed => "备案 {filing} 对应版本 {version}",

        Msg::UsagePublished => "适用人群、场合和用途已公开于 {url}",
        Msg::DisclosureMissing => {
            "未声明服务的适用人群、场合和用途的公开地址（spec.service.disclosureUrl）"
        }
        Msg::RetentionUndeclared => "未声明输入信息的留存天数（spec.service.inputRetentionDays）",
        Msg::RetentionTooLong => "使用者的输入信息留存 {days} 天；策略最多允许 {max} 天",
        Msg::RetentionLimited => "使用者的输入信息留存 {days} 天（上限 {max} 天）",
        Msg::PersonalInfoChannelMissing => {
            "未声明个人信息请求的受理渠道（spec.service.personalInfoChannel）"
        }
        Msg::ComplaintChannelMissing => "未声明投诉、举报入口（spec.service.complaintChannel）",
        Msg::ResponseTooSlow => "{channel} 承诺在 {days} 天内反馈；策略最多允许 {max} 天",
        Msg::ChannelOpen => "{url} 在 {days} 天内反馈（上限 {max} 天）",
        Msg::MinorsNotAdmitted => "声明的适用人群不包括未成年人",
        Msg::MinorsProtectionMissing => {
            "适用人群包括未成年人（Minors），但未声明未成年人保护措施（spec.service.minorsProtection）"
        }
        Msg::MinorsProtected => "已启用未成年人模式、使用时长限制和适龄内容",
        Msg::MinorsProtectionIncomplete => "未成年人保护措施（minorsProtection）缺少 {fields}",

        Msg::ReportComplete => "训练数据来源、规模、标注规则和算法均已声明，可据此向主管部门说明",
        Msg::ReportLacks => "向主管部门说明所需的信息缺少 {fields}",
        Msg::ReportLacksRecords => {
            "向主管部门说明所需的信息缺少数据集 {datasets} 的规模（records）和来源（source）"
        }
        Msg::ReportLacksFieldsAndRecords => {
            "向主管部门说明所需的信息缺少 {fields}，以及数据集 {datasets} 的规模（records）和来源（source）"
        }
        Msg::TrainingUndeclared => "training（训练数据集和标注规则）",

        Msg::SampleManual => "人工抽检",
        Msg::SampleAutomated => "自动化抽检",
        Msg::SampleKeyword => "关键词抽检",
        Msg::SampleClassifier => "分类模型抽检",
        Msg::SampleShouldRefuse => "应拒答测试题",
        Msg::SampleTooSmall => "{sample}样本只有 {items} 条（下限 {min} 条）",
        Msg::PassRateTooLow => "{sample}合格率 {rate} 低于 {min}",
        Msg::CorpusEvaluationMissing => "spec.evaluation.corpus 中未记录语料安全评估",
        Msg::AutomatedCoverageTooLow => "自动化抽检样本占语料的 {ratio}（下限 {min}）",
        Msg::CorpusEvaluated => {
            "{date} 语料安全评估：人工抽检 {manual_items} 条，合格率 {manual_rate}；自动化抽检 {automated_items} 条（占语料 {coverage}），合格率 {automated_rate}"
        }
        Msg::ContentEvaluationMissing => {
            "spec.evaluation.generatedContent 中未记录生成内容安全评估"
        }
        Msg::ContentEvaluated => {
            "{date} 生成内容安全评估：人工抽检合格率 {manual}，关键词抽检合格率 {keyword}，分类模型抽检合格率 {classifier}"
        }
        Msg::RefusalEvaluationMissing => "spec.evaluation.refusal 中未记录问题拒答评估",
        Msg::ShouldAnswerTooSmall => "非拒答测试题只有 {items} 题（下限 {min} 题）",
        Msg::OverRefusal => "非拒答测试题的拒答率为 {rate}（上限 {max}）",
        Msg::RefusalEvaluated => {
            "{date} 问题拒答评估：应拒答测试题拒答率 {refused}，非拒答测试题拒答率 {over_refused}"
        }

        Msg::NoMonitoringNamed => {
            "策略未在 clusterChecks.platformMonitoring 中指定发现云平台安全风险的工作负载"
        }
        Msg::NoReadyReplica => "{workload} 没有就绪的副本",
        Msg::ReadyReplicas => "{workload} 有 {count} 个就绪副本",
        Msg::NoJobNamed => "策略未在 clusterChecks.{field} 中指定 CronJob",
        Msg::LastRunOnlyLive => "{job} 最近一次成功运行的时间只能在集群中确认",
        Msg::JobNeverSucceeded => "{job} 从未成功运行",
        Msg::JobStale => "{job} 最近一次成功运行在 {days} 天前（上限 {max} 天）",
        Msg::JobRecent => "{job} 在 {days} 天前成功运行",

        Msg::InputFilterSee => "输入信息安全性检测：详见 {condition}",
        Msg::LabelingSidecarSee => "生成内容标识 sidecar：详见 {condition}",
        Msg::SidecarPrefixed => "sidecar：{message}",
        Msg::PodsOfTotal => "{total} 个推理 Pod 中的 {count} 个",
        Msg::SidecarImageMismatch => "{pods} 运行的 {sidecar} 镜像为 {image}，而非 {wanted}",
        Msg::SidecarNotReady => "{total} 个推理 Pod 中有 {count} 个的 {sidecar} 未就绪",
        Msg::SidecarMissing => "{pods} 缺少 {sidecar} 容器",
        Msg::ProviderMissing => {
            "{message}，且 Operator 无法注入：sidecar 写作 ContentProducer 的 spec.service.provider 未设置"
        }
        Msg::SidecarInPlace => "每个推理 Pod 都运行 {sidecar}，Service 经端口 {port} 路由",
        Msg::WorkloadMissing => "spec.inference.workloads 中指定的 {workload} 不存在",
        Msg::WorkloadMissingOffline => {
            "所读取的清单中没有 spec.inference.workloads 中指定的 {workload}"
        }
        Msg::NoService => "命名空间 {namespace} 中没有路由到推理 Pod 的 Service",
        Msg::ServiceSelectsOtherPods => "Service {service} 未选中推理 Pod",
        Msg::SidecarBypassed => {
            "Service {service} 的端口 {port} 指向 {target}，绕过了端口 {sidecar_port} 上的 {sidecar}"
        }

        Msg::SelectorEmpty => {
            "spec.inference.podSelector 为空：停止开关会切断命名空间中所有 Pod 的流量"
        }
        Msg::Suspended => "已暂停服务：推理 Pod 的所有入站流量均被拒绝",
        Msg::SuspendNotApplied => {
            "spec.suspend 为 true，但尚无拒绝全部入站流量的 NetworkPolicy 覆盖推理 Pod"
        }
        Msg::SuspendPending => {
            "spec.suspend 为 true；Operator 将在集群中应用拒绝全部入站流量的 NetworkPolicy"
        }
        Msg::KillSwitchArmed => "停止开关就绪：设置 spec.suspend 即可切断推理 Pod 的入站流量",
        Msg::ProcedureAttested => "处置流程{evidence}",
        Msg::ProcedureMissing => "处置流程：{evidence}",

        Msg::SingleEnvironment => "未同时声明训练环境和推理环境，无需隔离",
        Msg::NothingShared => "训练与推理之间没有共用的存储卷或服务账号",
        Msg::SelectorsOverlap => "{pod} 同时匹配训练和推理的 Pod 选择器",
        Msg::SharedServiceAccount => "训练 Pod 与推理 Pod 共用服务账号 {accounts}",
        Msg::SharedNode => "训练 Pod 与推理 Pod 共用节点 {nodes}",
        Msg::NodePlacementUnknown => "Pod 所在节点只能在集群中确认",
        Msg::SharedVolume => "{pod} 挂载了训练数据卷 {volumes}",
        Msg::SharedClaimName => "{pod} 挂载了与训练数据卷同名的 PVC {claims}",
        Msg::IngressFromAnySource => "{policy} 允许任意来源的入站流量",
        Msg::IngressFromIpBlock => "{policy} 允许来自 ipBlock {cidr} 的入站流量",
        Msg::IngressFromEveryNamespace => "{policy} 允许来自所有命名空间的入站流量",
        Msg::IngressFromNamespace => "{policy} 允许来自命名空间 {namespace} 的入站流量",
        Msg::IngressFromStrangers => "{policy} 允许非训练 Pod {pods} 访问",
        Msg::NetworkPolicyMissing => "没有 NetworkPolicy 限制 {pods} 的入站流量",
        Msg::IngressRestricted => {
            "{count} 个训练 Pod 仅接受来自训练 Pod 和命名空间 {namespaces} 的入站流量"
        }
        Msg::AnnotationVolumesUndeclared => {
            "spec.training.safetyAnnotationVolumes 为空：请声明安全性标注数据的存储位置"
        }
        Msg::MountedOutsideTraining => "{pod} 不是训练 Pod，却挂载了 {volumes}",
        Msg::TrainingNotIsolated => "训练环境未隔离：详见 {condition}",
        Msg::IsolationSee => "训练与推理环境隔离：详见 {condition}",
        Msg::AnnotationsIsolated => "{volumes} 仅由训练 Pod 挂载，安全性标注数据隔离存储",

        Msg::NoTrainingData => "此部署未声明训练数据",
        Msg::NoOtherBinding => "没有其他 RoleBinding 授予训练数据的访问权限",
        Msg::OverBroadBinding => {
            "RoleBinding {binding} 将训练数据授权给了非指定读取者 {kind} {subject}"
        }
        Msg::ReaderBindingMissing => "读取者 {readers} 没有访问训练数据的 RoleBinding",
        Msg::ReadersBound => "{count} 个指定读取者均已绑定",
        Msg::AccessReviewOnlyLive => {
            "推理服务账号无法读取训练数据，这一点只能在集群中通过 SubjectAccessReview 证实"
        }
        Msg::AccessReviewPending => "尚未收到 {account} 的 SubjectAccessReview 结果",
        Msg::InferenceCanRead => {
            "推理服务账号 {account} 可以读取命名空间 {namespace} 中的 {resource}"
        }
        Msg::AccessDenied => "SubjectAccessReview 确认 {count} 个推理服务账号均无权读取训练数据",

        Msg::NoVolumesDeclared => {
            "请声明 training.dataVolumes 或 inference.modelVolumes，以便对其进行备份"
        }
        Msg::InvalidBackupSchedule => "controls.backup：{error}",
        Msg::InvalidDrillSchedule => "controls.backup.restoreDrill：{error}",
        Msg::ScheduleNotCron => "备份计划 {expression} 不是五字段的 cron 表达式：{error}",
        Msg::TimeZoneUnknown => "未知时区 {zone}",
        Msg::BackupAgeOnlyLive => "{volumes} 最新备份的时间只能在集群中确认（上限 {max} 小时）",
        Msg::SnapshotApiMissing => {
            "未安装 VolumeSnapshot API（snapshot.storage.k8s.io/v1），无法备份 {volumes}；请安装 CSI 快照 CRD 和控制器，或设置 controls.backup.engine: Velero"
        }
        Msg::NoReadySnapshot => "{volumes:list} 没有就绪的 VolumeSnapshot",
        Msg::BackupTooOld => "{volume} 的最新备份已有 {hours} 小时（上限 {max} 小时）",
        Msg::BackupsCurrent => "所有声明的存储卷（{volumes}）都有 {max} 小时内的就绪备份",
        Msg::VeleroMissing => {
            "未安装 Velero（velero.io/v1 的 Schedule 和 Backup），无法备份命名空间 {namespaces}；请安装 Velero，或设置 controls.backup.engine: VolumeSnapshot"
        }
        Msg::NoVeleroBackup => {
            "命名空间 {velero_namespace} 中没有覆盖 {namespaces} 的已完成 Velero Backup（Schedule {schedule}）"
        }
        Msg::VeleroBackupTooOld => {
            "覆盖 {namespaces} 的最新 Velero Backup {backup} 已有 {hours} 小时（上限 {max} 小时）"
        }
        Msg::VeleroBackupCurrent => {
            "覆盖 {namespaces} 的 Velero Backup {backup} 于 {hours} 小时前完成（上限 {max} 小时）"
        }
        Msg::NoBackupToRestore => "{volume} 没有可供恢复的就绪备份",
        Msg::RestoreDidNotBind => "从 {snapshot} 恢复的 PVC {claim} 未在 {timeout} 秒内绑定",

        Msg::ControlsApplied => "本代（generation）的控制措施均已就位",
        Msg::ControlsAppliedSuspended => {
            "本代（generation）的控制措施均已就位，推理服务已暂停：推理 Pod 的所有入站流量均被拒绝"
        }
        Msg::RiskSummary => {
            "风险等级 {risk}，符合 {ratio}；不符合 {not_met}，待确认 {unknown}，风险接受 {excepted}"
        }
        Msg::MostSevereOpen => "最严重的未关闭问题：{conditions}",
        Msg::NothingToApply => "没有待应用的变更",
        Msg::NoPermanentProblem => "没有需要人工处理的问题",
        Msg::PolicyNotFound => "CompliancePolicy {policy} 不存在；等待其创建",
        Msg::DrillRunning => "{slot} 的恢复演练正在进行",
        Msg::DrillSucceeded => "{slot} 的恢复演练：{volumes}",
        Msg::VolumeRestored => "{volume} 已从 {snapshot} 恢复，用时 {seconds} 秒",
        Msg::DrillFailed => "{slot} 的恢复演练失败：{volumes}",

        Msg::EvidenceRelied => "证据：{evidence}",
        Msg::EvidenceUntil => "{evidence}（有效期至 {date}）",

        Msg::NotInStatus => "状态中没有该条目的条件",
        Msg::NotEvaluatedYet => "Operator 尚未评估",
        Msg::NotEvaluatedYetBecause => "Operator 尚未评估：{message}（{reason}）",
        Msg::StatusBehind => {
            "状态描述的是第 {observed} 代（generation），而 spec 已是第 {generation} 代：Operator 尚未跟上"
        }

        Msg::ProblemAt => "{file}:{line}：第 {document} 个文档：{message}",
        Msg::ProblemIn => "{file}：{message}",
        Msg::CannotRead => "无法读取：{error}",
        Msg::CannotList => "无法列出目录：{error}",
        Msg::NotOurResource => "{api_version} 的 {kind} 不是本 Operator 的资源（应为 {expected}）",
        Msg::Duplicate => "重复的 {kind} {name}：首次定义于 {file}:{line}（第 {document} 个文档）",
        Msg::MalformedYaml => "YAML 格式错误：{error}",
        Msg::NotAnObject => "不是 Kubernetes 对象：apiVersion 和 kind 为必填项",
        Msg::NoName => "{kind} 没有 metadata.name",
        Msg::UnknownField => "未知字段 `{field}`",
        Msg::InvalidField => "`{field}` 无效：{error}",
        Msg::RejectedByRule => "未通过校验规则：{error}",
        Msg::PolicyNotInManifests => {
            "ModelDeployment {name} 引用的 CompliancePolicy {policy} 不在所读取的清单中"
        }
        Msg::PolicyMissing => "ModelDeployment {name} 引用的 CompliancePolicy {policy} 不存在",
    }
}
