-- Argo CD health of ModelDeployment, CompliancePolicy and ComplianceEvidence
-- (modelcompliance.io), after the kstatus conventions the operator follows:
--
--   Healthy      Ready=True and the current generation observed
--   Suspended    Ready=True with reason InferenceSuspended: the kill switch (row 40) cuts
--                all ingress to the inference pods
--   Progressing  the generation is not observed yet, Reconciling=True, or Ready is not True
--                for a reason the operator is still working on
--   Degraded     Stalled=True, or Ready=False for a reason that waits for a change of the
--                manifests (a missing CompliancePolicy), or a ComplianceEvidence whose Valid
--                condition is False
--
-- Compliance is not health: a deployment whose risk is above its policy's acceptance is
-- Healthy here once its controls are applied, and its Compliant condition says so in the
-- message. Gate merges on compliance with `model-compliance-operator check` instead.
--
-- Argo CD runs this with gopher-lua (Lua 5.1): the object is the global `obj`.

-- Reasons of Ready=False that no retry resolves: the manifests must change.
local terminal_reasons = {
  PolicyNotFound = true,
}

local function find_condition(conditions, condition_type)
  if conditions == nil then
    return nil
  end
  for _, condition in ipairs(conditions) do
    if condition.type == condition_type then
      return condition
    end
  end
  return nil
end

local function said(condition)
  local text = condition.reason or condition.type
  if condition.message ~= nil and condition.message ~= "" then
    text = text .. ": " .. condition.message
  end
  return text
end

local hs = {}
local status = obj.status
local conditions = nil
if status ~= nil then
  conditions = status.conditions
end

-- Policies and evidence are inputs the operator reads; it does not have to write their
-- status, so none means nothing is wrong. A ModelDeployment always gets one.
if conditions == nil or #conditions == 0 then
  if obj.kind == "ModelDeployment" then
    hs.status = "Progressing"
    hs.message = "waiting for the operator to report the status"
  else
    hs.status = "Healthy"
    hs.message = "no status reported"
  end
  return hs
end

local ready = find_condition(conditions, "Ready")
local stalled = find_condition(conditions, "Stalled")
local reconciling = find_condition(conditions, "Reconciling")

-- The generation the status speaks of: the status's own, or the Ready condition's.
local generation = nil
if obj.metadata ~= nil then
  generation = obj.metadata.generation
end
local observed = status.observedGeneration
if observed == nil and ready ~= nil then
  observed = ready.observedGeneration
end
if generation ~= nil and observed ~= nil and observed < generation then
  hs.status = "Progressing"
  hs.message = "generation " .. generation .. " not yet observed (status is of " .. observed .. ")"
  return hs
end
if generation ~= nil and observed == nil and obj.kind == "ModelDeployment" then
  hs.status = "Progressing"
  hs.message = "generation " .. generation .. " not yet observed"
  return hs
end

if stalled ~= nil and stalled.status == "True" then
  hs.status = "Degraded"
  hs.message = said(stalled)
  return hs
end
if ready ~= nil and ready.status == "False" and terminal_reasons[ready.reason] then
  hs.status = "Degraded"
  hs.message = said(ready)
  return hs
end
if reconciling ~= nil and reconciling.status == "True" then
  hs.status = "Progressing"
  hs.message = said(reconciling)
  return hs
end

if ready == nil then
  local valid = find_condition(conditions, "Valid")
  if valid ~= nil and valid.status == "False" then
    hs.status = "Degraded"
    hs.message = said(valid)
    return hs
  end
  hs.status = "Healthy"
  hs.message = "no Ready condition"
  return hs
end

if ready.status == "True" then
  if ready.reason == "InferenceSuspended" then
    hs.status = "Suspended"
    hs.message = said(ready)
    return hs
  end
  hs.status = "Healthy"
  local compliant = find_condition(conditions, "Compliant")
  if compliant ~= nil then
    hs.message = said(ready) .. "; " .. said(compliant)
  else
    hs.message = said(ready)
  end
  return hs
end

hs.status = "Progressing"
hs.message = said(ready)
return hs
