// Test support: the certificates of sovereignd's mutual-TLS listener, made with the openssl
// command in a test's directory, and calls over that listener with rpc_probe.
//
// A CA signs the server's certificate (for "localhost") and client certificates of any common
// name; besides, a certificate of that CA that expired in 2020 and one signed by another CA.
// Keys are P-256; certificates are valid for a day from now.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "support/daemon_process.h"

namespace sovereign::testing {

struct TlsIdentity {
  std::string certificate;  // PEM file
  std::string key;          // PEM file
};

class TestPki {
 public:
  // Creates `dir` and in it the CA and the server's certificate. INTERNAL with openssl's
  // standard error when a command fails.
  static absl::StatusOr<TestPki> Create(const std::string& dir);

  // A client certificate for `common_name`, signed by the CA, in <dir>/<name>.pem and .key.
  absl::StatusOr<TlsIdentity> Issue(const std::string& name, const std::string& common_name);
  // The same, valid only from 2020-01-01 to 2020-01-02.
  absl::StatusOr<TlsIdentity> IssueExpired(const std::string& name,
                                           const std::string& common_name);
  // The same, signed by another CA, one sovereignd does not know.
  absl::StatusOr<TlsIdentity> IssueByOtherCa(const std::string& name,
                                             const std::string& common_name);

  const std::string& ca() const { return ca_; }
  // The tcp: section of sovereignd.yaml: loopback, port 0, this CA for clients.
  std::string DaemonConfig() const;

 private:
  explicit TestPki(std::string dir) : dir_(std::move(dir)), ca_(dir_ + "/ca.pem") {}
  absl::StatusOr<TlsIdentity> Sign(const std::string& name, const std::string& common_name,
                                   const std::string& ca_name, const std::string& extension);

  std::string dir_;
  std::string ca_;
};

// rpc_probe --tls 127.0.0.1:<port> with `client`'s certificate, trusting `pki`'s CA.
RunResult ProbeOverTls(int port, const TestPki& pki, const TlsIdentity& client,
                       const std::string& method, const std::string& json);

// What rpc_probe prints when sovereignd refuses a client certificate at the TLS handshake (TLS
// 1.3: the client learns it only when the server closes the connection), as gRPC 1.51 words it.
std::string RefusedCertificateOutput(int port);
// What sovereignd's log says for each certificate it refused (gRPC's own line, after its
// time stamp).
inline constexpr char kRefusedCertificateLog[] =
    "Handshake failed with fatal error SSL_ERROR_SSL: error:0A000086:SSL "
    "routines::certificate verify failed.";

}  // namespace sovereign::testing
