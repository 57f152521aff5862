// job_submit/sovereign: the C-ABI shell slurmctld loads. Everything it decides comes from
// SubmitFilter; this file only resolves Slurm's allocator, logger and job lookup, reads the
// plugin config, looks up the tag of the job a job was submitted from, and applies answers to
// job_desc_msg_t. Every entry point is an exception firewall that fails
// closed: a job the plugin cannot judge is refused, never waved through.
#include <dlfcn.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "sovereign/plugin_settings.h"
#include "submit_filter.h"

extern "C" {
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
// slurmctld's job record; the public headers do not declare it.
typedef struct job_record job_record_t;
}

namespace {

using XstrdupFn = char* (*)(const char*);
// 22.05's slurm_xfree takes (void**, file, line, func); extra arguments are harmless on older
// single-argument builds under the x86-64 calling convention.
using XfreeFn = void (*)(void**, const char*, int, const char*);
using LogFn = void (*)(const char*, ...);
// slurmctld's own lookup of a job it holds (src/slurmctld/job_mgr.c), exported by slurmctld.
using FindJobRecordFn = job_record_t* (*)(uint32_t);

struct SlurmApi {
  XstrdupFn xstrdup = nullptr;
  XfreeFn xfree = nullptr;
  LogFn info = nullptr;
  LogFn verbose = nullptr;
  LogFn error = nullptr;
  FindJobRecordFn find_job_record = nullptr;
};

SlurmApi api;
std::unique_ptr<sovereign::plugin::SubmitFilter> filter;

void LogInfo(const std::string& line) {
  if (api.info != nullptr && !line.empty()) {
    api.info("%s", line.c_str());
  }
}

// Placements are routine: logged at SlurmctldDebug=verbose, so that the default log level
// does not pay for a log write per submission inside slurmctld's locks.
void LogVerbose(const std::string& line) {
  if (api.verbose != nullptr && !line.empty()) {
    api.verbose("%s", line.c_str());
  }
}

void LogError(const std::string& line) {
  if (api.error != nullptr) {
    api.error("%s", line.c_str());
  }
}

// Replaces *field with a Slurm-allocated copy of value.
void SetField(char** field, const std::string& value) {
  if (*field != nullptr) {
    api.xfree(reinterpret_cast<void**>(field), __FILE__, __LINE__, __func__);
  }
  *field = api.xstrdup(value.c_str());
}

// job_record_t is slurmctld's private struct; the public headers only name it. Its head has
// been stable for many releases and starts with a magic cookie, which is checked before the
// one field the guard needs is read. plugin_version pins the exact Slurm release anyway.
struct JobRecordHead {
  uint32_t magic;
  char* account;
  char* admin_comment;
};
constexpr uint32_t kJobMagic = 0xf0b7392c;

bool ReadAdminComment(const job_record_t* job, const char** admin_comment) {
  const auto* head = reinterpret_cast<const JobRecordHead*>(job);
  if (head == nullptr || head->magic != kJobMagic) {
    return false;
  }
  *admin_comment = head->admin_comment;
  return true;
}

// The id of the job an update names: job_id, or the leading number of job_id_str ("12",
// "12_3"). 0 when neither says.
uint32_t JobIdOf(const job_desc_msg_t& desc) {
  if (desc.job_id != 0 && desc.job_id != NO_VAL) {
    return desc.job_id;
  }
  uint32_t id = 0;
  for (const char* p = desc.job_id_str; p != nullptr && *p >= '0' && *p <= '9'; ++p) {
    id = id * 10 + static_cast<uint32_t>(*p - '0');
  }
  return id;
}

// The tag of the running job this one was submitted from (ParentJobIds): *admin_comment is
// that job's admin_comment, null when no parent is named, slurmctld no longer holds it (ended
// and purged), or it has none. The job read lock is held around job_submit. False, with
// *why, when a named parent cannot be read.
bool ParentAdminComment(const job_desc_msg_t& desc, const char** admin_comment,
                        std::string* why) {
  *admin_comment = nullptr;
  for (uint32_t id : sovereign::plugin::ParentJobIds(desc)) {
    if (api.find_job_record == nullptr) {
      *why = absl::StrCat("sovereign: this job was submitted from inside job ", id,
                          ", whose datasets cannot be looked up (find_job_record is missing in "
                          "slurmctld); ask your cluster admins");
      return false;
    }
    const job_record_t* parent = api.find_job_record(id);
    if (parent == nullptr) {
      continue;
    }
    if (!ReadAdminComment(parent, admin_comment)) {
      *why = absl::StrCat("sovereign: this job was submitted from inside job ", id,
                          ", whose record cannot be read; ask your cluster admins");
      return false;
    }
    return true;
  }
  return true;
}


}  // namespace

// Built with hidden visibility; only these are exported (and job_submit.map lists them).
#define SOVEREIGN_EXPORT __attribute__((visibility("default")))

extern "C" {

SOVEREIGN_EXPORT extern const char plugin_name[] = "Sovereignty-aware placement (data residency, energy)";
SOVEREIGN_EXPORT extern const char plugin_type[] = "job_submit/sovereign";
SOVEREIGN_EXPORT extern const uint32_t plugin_version = SLURM_VERSION_NUMBER;

SOVEREIGN_EXPORT int init(void) {
  try {
    api.xstrdup = reinterpret_cast<XstrdupFn>(dlsym(RTLD_DEFAULT, "slurm_xstrdup"));
    api.xfree = reinterpret_cast<XfreeFn>(dlsym(RTLD_DEFAULT, "slurm_xfree"));
    api.info = reinterpret_cast<LogFn>(dlsym(RTLD_DEFAULT, "slurm_info"));
    api.verbose = reinterpret_cast<LogFn>(dlsym(RTLD_DEFAULT, "slurm_verbose"));
    api.error = reinterpret_cast<LogFn>(dlsym(RTLD_DEFAULT, "slurm_error"));
    api.find_job_record =
        reinterpret_cast<FindJobRecordFn>(dlsym(RTLD_DEFAULT, "find_job_record"));
    if (api.xstrdup == nullptr || api.xfree == nullptr) {
      LogError("job_submit/sovereign: slurm_xstrdup/slurm_xfree not found in the host process");
      return SLURM_ERROR;
    }
    if (api.find_job_record == nullptr) {
      // Jobs submitted from inside a job are refused then; all others are placed as usual.
      LogError("job_submit/sovereign: find_job_record not found in the host process: jobs "
               "submitted from inside a job will be refused");
    }
    std::string path = sovereign::PluginSettingsPath();
    absl::StatusOr<sovereign::PluginSettings> options = sovereign::ReadPluginSettings(path);
    if (absl::IsNotFound(options.status())) {
      LogError(absl::StrCat("job_submit/sovereign: cannot read ", path,
                            " (set SOVEREIGN_PLUGIN_CONF or create it next to slurm.conf)"));
      return SLURM_ERROR;
    }
    if (!options.ok()) {
      LogError(absl::StrCat("job_submit/sovereign: ", options.status().message()));
      return SLURM_ERROR;
    }
    absl::Duration ttl = options->user_cache_ttl;
    // Each snapshot the plugin takes, or refuses, is one line of slurmctld's log.
    auto created = sovereign::plugin::SubmitFilter::Create(
        *std::move(options), sovereign::plugin::NewNssUserDirectory(ttl),
        sovereign::plugin::FilterLog{LogInfo, LogError});
    if (!created.ok()) {
      LogError(absl::StrCat("job_submit/sovereign: ", created.status().message()));
      return SLURM_ERROR;
    }
    filter = *std::move(created);
    auto snap = filter->CurrentSnapshot();
    LogInfo(absl::StrCat("job_submit/sovereign: loaded with ", path, "; register ",
                         snap == nullptr ? std::string("not yet published: ") +
                                               std::string(filter->watcher().last_error().message())
                                         : std::string(snap->reg->short_version())));
    return SLURM_SUCCESS;
  } catch (const std::exception& e) {
    LogError(absl::StrCat("job_submit/sovereign: init failed: ", e.what()));
  } catch (...) {
    LogError("job_submit/sovereign: init failed: unknown exception");
  }
  return SLURM_ERROR;
}

SOVEREIGN_EXPORT int fini(void) {
  try {
    filter.reset();
  } catch (...) {
  }
  return SLURM_SUCCESS;
}

SOVEREIGN_EXPORT int job_submit(job_desc_msg_t* job_desc, uint32_t submit_uid, char** err_msg) {
  try {
    if (filter == nullptr) {
      *err_msg = api.xstrdup("sovereign: the placement plugin is not initialised; ask your cluster admins");
      return ESLURM_INVALID_FEATURE;
    }
    const char* parent_admin_comment = nullptr;
    if (std::string why; !ParentAdminComment(*job_desc, &parent_admin_comment, &why)) {
      LogError(why);
      *err_msg = api.xstrdup(why.c_str());
      return ESLURM_INVALID_FEATURE;
    }
    sovereign::plugin::SubmitAnswer a =
        filter->Submit(*job_desc, submit_uid, absl::Now(), parent_admin_comment);
    if (!a.accept) {
      LogInfo(a.log_line);
      *err_msg = api.xstrdup(a.message.c_str());
      return a.slurm_error;
    }
    SetField(&job_desc->partition, a.partition);
    SetField(&job_desc->admin_comment, a.admin_comment);
    if (!a.features.empty()) {
      SetField(&job_desc->features, a.features);
    }
    if (a.begin_time != 0) {
      job_desc->begin_time = a.begin_time;
    }
    if (!a.message.empty()) {
      *err_msg = api.xstrdup(a.message.c_str());  // sbatch prints it: "sbatch: <message>"
    }
    LogVerbose(a.log_line);
    return SLURM_SUCCESS;
  } catch (const std::exception& e) {
    LogError(absl::StrCat("job_submit/sovereign: refusing job after internal error: ", e.what()));
  } catch (...) {
    LogError("job_submit/sovereign: refusing job after unknown internal error");
  }
  if (api.xstrdup != nullptr) {
    *err_msg = api.xstrdup("sovereign: internal error while placing the job; it was refused");
  }
  return ESLURM_INVALID_FEATURE;
}

SOVEREIGN_EXPORT int job_modify(job_desc_msg_t* job_desc, job_record_t* job_ptr, uint32_t submit_uid) {
  try {
    const uint32_t job_id = JobIdOf(*job_desc);
    const char* admin_comment = nullptr;
    if (!ReadAdminComment(job_ptr, &admin_comment)) {
      LogError(sovereign::plugin::RefusedChangeLine(
          job_id, submit_uid,
          "the job record layout is not the one job_submit/sovereign was built for (magic "
          "mismatch)"));
      return ESLURM_ACCESS_DENIED;
    }
    if (filter == nullptr) {
      if (admin_comment == nullptr) {
        return SLURM_SUCCESS;
      }
      LogError(sovereign::plugin::RefusedChangeLine(
          job_id, submit_uid, "job_submit/sovereign is not initialised, so the change cannot be "
                              "checked"));
      return ESLURM_ACCESS_DENIED;
    }
    sovereign::plugin::CurrentJob job;
    job.admin_comment = admin_comment;
    job.job_id = job_id;
    sovereign::plugin::ModifyAnswer a = filter->Modify(*job_desc, job, submit_uid, absl::Now());
    if (!a.log_line.empty()) {
      (a.accept ? LogInfo : LogError)(a.log_line);
    }
    return a.accept ? SLURM_SUCCESS : ESLURM_ACCESS_DENIED;
  } catch (const std::exception& e) {
    LogError(sovereign::plugin::RefusedChangeLine(
        JobIdOf(*job_desc), submit_uid, absl::StrCat("internal error: ", e.what())));
  } catch (...) {
    LogError(sovereign::plugin::RefusedChangeLine(JobIdOf(*job_desc), submit_uid,
                                                  "unknown internal error"));
  }
  return ESLURM_ACCESS_DENIED;
}

}  // extern "C"
