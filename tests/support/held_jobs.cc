#include "support/held_jobs.h"

#include <cerrno>

extern "C" {
#include <slurm/slurm.h>
#include <slurm/slurm_errno.h>
}

namespace sovereign::testing {

SubmitOutcome SubmitHeldJob(const HeldJob& job) {
  // libslurm takes char*, never writes through them: local copies keep the call thread-safe.
  char script[] = "#!/bin/sh\ntrue\n";
  char env0[] = "PATH=/usr/bin:/bin";
  char* env[] = {env0};
  char work_dir[] = "/tmp";
  char out[] = "/dev/null";
  std::string name = job.name;
  std::string comment = job.comment;
  std::string tres = "gres:gpu:" + std::to_string(job.gpus);

  job_desc_msg_t d;
  slurm_init_job_desc_msg(&d);
  d.script = script;
  d.name = name.data();
  d.user_id = job.uid;
  d.group_id = job.gid;
  d.priority = 0;  // held: the queue grows, nothing runs
  d.min_nodes = 1;
  d.time_limit = 5;
  d.environment = env;
  d.env_size = 1;
  d.work_dir = work_dir;
  d.std_out = out;
  d.std_err = out;
  d.tres_per_node = job.gpus > 0 ? tres.data() : nullptr;
  d.comment = comment.empty() ? nullptr : comment.data();

  SubmitOutcome outcome;
  submit_response_msg_t* resp = nullptr;
  if (slurm_submit_batch_job(&d, &resp) == SLURM_SUCCESS && resp != nullptr) {
    outcome.job_id = resp->job_id;
  } else {
    outcome.error = slurm_get_errno();
    outcome.error_text = slurm_strerror(outcome.error);
  }
  if (resp != nullptr) {
    slurm_free_submit_response_response_msg(resp);
  }
  return outcome;
}

bool IsCommunicationError(int error) {
  switch (error) {
    case SLURM_COMMUNICATIONS_CONNECTION_ERROR:
    case SLURM_COMMUNICATIONS_SEND_ERROR:
    case SLURM_COMMUNICATIONS_RECEIVE_ERROR:
    case SLURM_COMMUNICATIONS_SHUTDOWN_ERROR:
    case SLURMCTLD_COMMUNICATIONS_CONNECTION_ERROR:
    case SLURMCTLD_COMMUNICATIONS_SEND_ERROR:
    case SLURMCTLD_COMMUNICATIONS_RECEIVE_ERROR:
    case SLURMCTLD_COMMUNICATIONS_SHUTDOWN_ERROR:
    case SLURM_PROTOCOL_SOCKET_IMPL_ZERO_RECV_LENGTH:
    case SLURM_PROTOCOL_SOCKET_IMPL_NEGATIVE_RECV_LENGTH:
    case SLURM_PROTOCOL_SOCKET_IMPL_NOT_ALL_DATA_SENT:
    case ESLURM_PROTOCOL_INCOMPLETE_PACKET:
    case SLURM_PROTOCOL_SOCKET_IMPL_TIMEOUT:
    case SLURM_PROTOCOL_SOCKET_ZERO_BYTES_SENT:
    case ECONNREFUSED:
    case ECONNRESET:
    case EPIPE:
    case ETIMEDOUT:
      return true;
    default:
      return false;
  }
}

}  // namespace sovereign::testing
