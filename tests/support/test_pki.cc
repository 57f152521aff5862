#include "support/test_pki.h"

#include <filesystem>
#include <system_error>
#include <vector>

#include "absl/strings/str_cat.h"

namespace sovereign::testing {
namespace {

constexpr char kOpenssl[] = "/usr/bin/openssl";

absl::Status Openssl(std::vector<std::string> args) {
  args.insert(args.begin(), kOpenssl);
  RunResult r = RunProgram(args);
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat("openssl ", args[1], " failed: ", r.err));
  }
  return absl::OkStatus();
}

// A new P-256 key in <base>.key and a request for `common_name` in <base>.csr.
absl::Status KeyAndRequest(const std::string& base, const std::string& common_name) {
  return Openssl({"req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                  "-keyout", base + ".key", "-out", base + ".csr", "-subj", "/CN=" + common_name});
}

absl::Status SelfSignedCa(const std::string& base, const std::string& common_name) {
  return Openssl({"req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                  "-nodes", "-keyout", base + ".key", "-out", base + ".pem", "-days", "1",
                  "-subj", "/CN=" + common_name});
}

constexpr char kClientExtension[] = "extendedKeyUsage=clientAuth\n";

}  // namespace

absl::StatusOr<TestPki> TestPki::Create(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", dir, ": ", ec.message()));
  }
  TestPki pki(dir);
  if (absl::Status s = SelfSignedCa(dir + "/ca", "sovereign test CA"); !s.ok()) {
    return s;
  }
  if (absl::Status s = SelfSignedCa(dir + "/other-ca", "another test CA"); !s.ok()) {
    return s;
  }
  absl::StatusOr<TlsIdentity> server =
      pki.Sign("server", "localhost", "ca", "subjectAltName=DNS:localhost\n");
  if (!server.ok()) {
    return server.status();
  }
  return pki;
}

absl::StatusOr<TlsIdentity> TestPki::Sign(const std::string& name, const std::string& common_name,
                                          const std::string& ca_name,
                                          const std::string& extension) {
  const std::string base = dir_ + "/" + name;
  if (absl::Status s = KeyAndRequest(base, common_name); !s.ok()) {
    return s;
  }
  WriteFile(base + ".ext", extension);
  const std::string ca = dir_ + "/" + ca_name;
  if (absl::Status s = Openssl({"x509", "-req", "-in", base + ".csr", "-CA", ca + ".pem",
                                "-CAkey", ca + ".key", "-CAcreateserial", "-out", base + ".pem",
                                "-days", "1", "-extfile", base + ".ext"});
      !s.ok()) {
    return s;
  }
  return TlsIdentity{base + ".pem", base + ".key"};
}

absl::StatusOr<TlsIdentity> TestPki::Issue(const std::string& name,
                                           const std::string& common_name) {
  return Sign(name, common_name, "ca", kClientExtension);
}

absl::StatusOr<TlsIdentity> TestPki::IssueByOtherCa(const std::string& name,
                                                    const std::string& common_name) {
  return Sign(name, common_name, "other-ca", kClientExtension);
}

absl::StatusOr<TlsIdentity> TestPki::IssueExpired(const std::string& name,
                                                  const std::string& common_name) {
  // `openssl x509` signs from now on; `openssl ca` takes any dates, with a database of its own.
  const std::string base = dir_ + "/" + name;
  const std::string db = base + "-ca-db";
  std::error_code ec;
  std::filesystem::create_directories(db, ec);
  if (ec) {
    return absl::InternalError(absl::StrCat("cannot create ", db, ": ", ec.message()));
  }
  WriteFile(db + "/index.txt", "");
  WriteFile(db + "/serial", "1000\n");
  WriteFile(base + ".cnf", absl::StrCat("[ca]\ndefault_ca = test\n[test]\ndatabase = ", db,
                                        "/index.txt\nserial = ", db, "/serial\nnew_certs_dir = ",
                                        db, "\ndefault_md = sha256\npolicy = any\n"
                                        "x509_extensions = client\n[any]\ncommonName = supplied\n"
                                        "[client]\n",
                                        kClientExtension));
  if (absl::Status s = KeyAndRequest(base, common_name); !s.ok()) {
    return s;
  }
  if (absl::Status s = Openssl({"ca", "-batch", "-config", base + ".cnf", "-cert", ca_,
                                "-keyfile", dir_ + "/ca.key", "-in", base + ".csr", "-out",
                                base + ".pem", "-startdate", "20200101000000Z", "-enddate",
                                "20200102000000Z"});
      !s.ok()) {
    return s;
  }
  return TlsIdentity{base + ".pem", base + ".key"};
}

std::string TestPki::DaemonConfig() const {
  return absl::StrCat("tcp:\n  listen: 127.0.0.1:0\n  certificate: ", dir_,
                      "/server.pem\n  key: ", dir_, "/server.key\n  client_ca: ", ca_, "\n");
}

RunResult ProbeOverTls(int port, const TestPki& pki, const TlsIdentity& client,
                       const std::string& method, const std::string& json) {
  return RunProgram({RPC_PROBE_PATH, "--tls", absl::StrCat("127.0.0.1:", port), "--ca", pki.ca(),
                     "--cert", client.certificate, "--key", client.key, method, json});
}

std::string RefusedCertificateOutput(int port) {
  return absl::StrCat(
      "UNAVAILABLE failed to connect to all addresses; last error: UNAVAILABLE: ipv4:127.0.0.1:",
      port, ": Socket closed\n");
}

}  // namespace sovereign::testing
