// rpc_probe: makes one sovereign.v1 call and prints its outcome, for tests that need to call
// as another Unix user (the test forks, drops to that uid and execs this) or over mutual TLS.
//
//   rpc_probe --socket PATH METHOD 'REQUEST_JSON'
//   rpc_probe --tls HOST:PORT --ca CA.pem --cert CERT.pem --key KEY.pem METHOD 'REQUEST_JSON'
//
// Prints one line "<STATUS_CODE> <message>" and, when OK, a second line with the response as
// JSON (for streams: the first message, or nothing when the stream ended empty).
// METHOD is Service.Method, e.g. PlacementService.Decide. Exit 0 whatever the call's status;
// 2 for bad usage.
#include <google/protobuf/util/json_util.h>
#include <grpcpp/create_channel.h>
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/security/credentials.h>

#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <sstream>
#include <string>

#include "sovereign/v1/admin.grpc.pb.h"
#include "sovereign/v1/audit.grpc.pb.h"
#include "sovereign/v1/placement.grpc.pb.h"
#include "sovereign/v1/register.grpc.pb.h"

namespace v1 = sovereign::v1;
using google::protobuf::Message;

namespace {

const char* CodeName(grpc::StatusCode c) {
  switch (c) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    default:
      return "OTHER";
  }
}

std::string Json(const Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(m, &out, o);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

struct Outcome {
  grpc::Status status;
  std::string json;
};

template <typename Req>
bool Parse(const std::string& text, Req* req) {
  return google::protobuf::util::JsonStringToMessage(text.empty() ? "{}" : text, req).ok();
}

template <typename Stub, typename Req, typename Resp>
Outcome Unary(Stub* stub, grpc::Status (Stub::*method)(grpc::ClientContext*, const Req&, Resp*),
              const std::string& text) {
  Req req;
  if (!Parse(text, &req)) {
    return {grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "probe: bad request JSON"), ""};
  }
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  Resp resp;
  grpc::Status s = (stub->*method)(&ctx, req, &resp);
  return {s, s.ok() ? Json(resp) : ""};
}

template <typename Reader, typename Resp>
Outcome FirstOfStream(grpc::ClientContext* ctx, Reader reader) {
  Resp resp;
  std::string json;
  if (reader->Read(&resp)) {
    json = Json(resp);
    ctx->TryCancel();
    reader->Finish();
    return {grpc::Status::OK, json};
  }
  return {reader->Finish(), ""};
}

grpc::ByteBuffer Bytes(const std::string& raw) {
  grpc::Slice slice(raw);
  return grpc::ByteBuffer(&slice, 1);
}

std::string Raw(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (buffer.Dump(&slices).ok()) {
    for (const grpc::Slice& s : slices) {
      out.append(reinterpret_cast<const char*>(s.begin()), s.size());
    }
  }
  return out;
}

// Services this repository has no generated code for (health, reflection), called with
// hand-encoded protobuf bytes through the generic stub.
Outcome Generic(const std::shared_ptr<grpc::Channel>& channel, const std::string& method,
                const std::string& request, bool stream) {
  grpc::GenericStub stub(channel);
  grpc::CompletionQueue cq;
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  grpc::ByteBuffer response;
  grpc::Status status;
  void* tag;
  bool ok;
  if (!stream) {
    auto call = stub.PrepareUnaryCall(&ctx, method, Bytes(request), &cq);
    call->StartCall();
    call->Finish(&response, &status, reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
  } else {
    auto call = stub.PrepareCall(&ctx, method, &cq);
    call->StartCall(reinterpret_cast<void*>(1));
    cq.Next(&tag, &ok);
    call->Write(Bytes(request), reinterpret_cast<void*>(2));
    cq.Next(&tag, &ok);
    call->Read(&response, reinterpret_cast<void*>(3));
    cq.Next(&tag, &ok);
    call->WritesDone(reinterpret_cast<void*>(4));
    cq.Next(&tag, &ok);
    call->Finish(&status, reinterpret_cast<void*>(5));
    cq.Next(&tag, &ok);
  }
  // Printable runs of the response: service names, status enum as a number.
  std::string text;
  for (char c : Raw(response)) {
    text.push_back(c >= 0x20 && c < 0x7f ? c : ' ');
  }
  if (!stream && status.ok()) {
    std::string raw = Raw(response);
    text = raw.size() == 2 && raw[0] == 0x08 ? (raw[1] == 1 ? "SERVING" : "NOT_SERVING") : text;
  }
  return {status, text};
}

}  // namespace

int main(int argc, char** argv) {
  std::string socket, tls, ca, cert, key;
  int i = 1;
  for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
    std::string flag = argv[i];
    if (flag == "--socket")
      socket = argv[i + 1];
    else if (flag == "--tls")
      tls = argv[i + 1];
    else if (flag == "--ca")
      ca = argv[i + 1];
    else if (flag == "--cert")
      cert = argv[i + 1];
    else if (flag == "--key")
      key = argv[i + 1];
    else {
      std::cerr << "rpc_probe: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (i >= argc || (socket.empty() == tls.empty())) {
    std::cerr << "usage: rpc_probe (--socket PATH | --tls HOST:PORT --ca --cert --key) METHOD "
                 "[JSON]\n";
    return 2;
  }
  std::string method = argv[i];
  std::string request = i + 1 < argc ? argv[i + 1] : "{}";
  std::shared_ptr<grpc::Channel> channel;
  if (!socket.empty()) {
    channel = grpc::CreateChannel("unix:" + socket, grpc::InsecureChannelCredentials());
  } else {
    grpc::SslCredentialsOptions o;
    o.pem_root_certs = ReadFile(ca);
    o.pem_cert_chain = ReadFile(cert);
    o.pem_private_key = ReadFile(key);
    grpc::ChannelArguments args;
    // The test server certificate is issued for "localhost".
    args.SetSslTargetNameOverride("localhost");
    channel = grpc::CreateCustomChannel(tls, grpc::SslCredentials(o), args);
  }
  auto placement = v1::PlacementService::NewStub(channel);
  auto audit = v1::AuditService::NewStub(channel);
  auto reg = v1::RegisterService::NewStub(channel);
  auto admin = v1::AdminService::NewStub(channel);
  using P = v1::PlacementService::Stub;
  using A = v1::AuditService::Stub;
  using R = v1::RegisterService::Stub;
  using D = v1::AdminService::Stub;
  std::map<std::string, std::function<Outcome()>> calls = {
      {"PlacementService.Decide", [&] { return Unary(placement.get(), &P::Decide, request); }},
      {"PlacementService.Explain", [&] { return Unary(placement.get(), &P::Explain, request); }},
      {"AuditService.ListDecisions",
       [&] { return Unary(audit.get(), &A::ListDecisions, request); }},
      {"AuditService.GetDecision", [&] { return Unary(audit.get(), &A::GetDecision, request); }},
      {"AuditService.GetCheckpoint",
       [&] { return Unary(audit.get(), &A::GetCheckpoint, request); }},
      {"AuditService.Verify", [&] { return Unary(audit.get(), &A::Verify, request); }},
      {"AuditService.WatchDecisions",
       [&] {
         v1::WatchDecisionsRequest req;
         if (!Parse(request, &req)) {
           return Outcome{grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "probe: bad JSON"), ""};
         }
         grpc::ClientContext ctx;
         ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(2));
         return FirstOfStream<decltype(audit->WatchDecisions(&ctx, req)),
                              v1::WatchDecisionsResponse>(&ctx, audit->WatchDecisions(&ctx, req));
       }},
      {"AuditService.Export",
       [&] {
         v1::ExportRequest req;
         if (!Parse(request, &req)) {
           return Outcome{grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "probe: bad JSON"), ""};
         }
         grpc::ClientContext ctx;
         ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
         return FirstOfStream<decltype(audit->Export(&ctx, req)), v1::ExportResponse>(
             &ctx, audit->Export(&ctx, req));
       }},
      {"RegisterService.Get", [&] { return Unary(reg.get(), &R::Get, request); }},
      {"RegisterService.Validate", [&] { return Unary(reg.get(), &R::Validate, request); }},
      {"RegisterService.Apply", [&] { return Unary(reg.get(), &R::Apply, request); }},
      {"RegisterService.History", [&] { return Unary(reg.get(), &R::History, request); }},
      {"RegisterService.Diff", [&] { return Unary(reg.get(), &R::Diff, request); }},
      {"RegisterService.Rollback", [&] { return Unary(reg.get(), &R::Rollback, request); }},
      {"AdminService.GetStatus", [&] { return Unary(admin.get(), &D::GetStatus, request); }},
      // HealthCheckRequest{service: ""}: no bytes.
      {"Health.Check", [&] { return Generic(channel, "/grpc.health.v1.Health/Check", "", false); }},
      // ServerReflectionRequest{list_services: "*"}: field 7, length 1.
      {"Reflection.ListServices",
       [&] {
         return Generic(channel, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
                        std::string("\x3a\x01*", 3), true);
       }},
  };
  auto it = calls.find(method);
  if (it == calls.end()) {
    std::cerr << "rpc_probe: unknown method " << method << "\n";
    return 2;
  }
  Outcome o = it->second();
  std::cout << CodeName(o.status.error_code()) << " " << o.status.error_message() << "\n";
  if (o.status.ok()) {
    std::cout << o.json << "\n";
  }
  return 0;
}
