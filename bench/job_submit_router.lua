-- The baseline controller_cost.sh measures sovereign against: the residency routing a site
-- would write by hand in job_submit/lua, for the mini cluster and config/register.example.yaml.
-- A table says where each dataset may be processed; the dataset is read from --comment
-- ("dataset:NAME"); the job is sent to the partitions of its regions, kept there with a
-- region feature, and tagged; an unknown dataset is refused. No register, no audit log, no
-- power or carbon figures: the least a router of the same policy does.

local routes = {
  ["patients-eu"]     = { partitions = "gpu-fr-a100,gpu-de-h100", feature = "region_eu" },
  ["finance-in"]      = { partitions = "gpu-in-l40s", feature = "region_in" },
  ["genomics-eu-us"]  = { partitions = "gpu-fr-a100,gpu-de-h100,gpu-us-h100",
                          feature = "region_eu|region_us" },
  ["imagenet-public"] = { partitions = "gpu-fr-a100,gpu-de-h100,gpu-de-cloud-h100,gpu-us-h100,gpu-in-l40s",
                          feature = nil },
}

function slurm_job_submit(job_desc, part_list, submit_uid)
  local comment = job_desc.comment or ""
  local dataset = string.match(comment, "dataset:([%w%._%-]+)")
  if dataset == nil then
    return slurm.SUCCESS
  end
  local route = routes[dataset]
  if route == nil then
    slurm.log_user("unknown dataset " .. dataset)
    return slurm.ERROR
  end
  job_desc.partition = route.partitions
  if route.feature ~= nil then
    job_desc.features = route.feature
  end
  job_desc.admin_comment = "router:ds=" .. dataset
  return slurm.SUCCESS
end

function slurm_job_modify(job_desc, job_rec, part_list, modify_uid)
  return slurm.SUCCESS
end

return slurm.SUCCESS
