#include "net/http_parser.h"

#include <algorithm>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "base/check.h"

namespace etcdpp::net {
namespace {

// Client bytes quoted in a refusal: printable ASCII as it is, anything else
// as \xNN, at most 64 of them, so the reason stays one readable line.
std::string Quoted(std::string_view text) {
  constexpr size_t kMax = 64;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMax; ++i) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(c, absl::kZeroPad2));
    }
  }
  if (text.size() > kMax) out += "...";
  return out + "'";
}

// A chunk-size line carries extensions we ignore; none legitimately needs
// more.
constexpr size_t kMaxChunkLineBytes = 4096;

bool IsTokenChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool IsHttpToken(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

bool IsHttpFieldValue(std::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && c != '\t') || u == 0x7f;
  });
}

std::string_view TrimHttpWhitespace(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

bool EqualsIgnoreCaseAscii(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return absl::ascii_tolower(static_cast<unsigned char>(x)) ==
                  absl::ascii_tolower(static_cast<unsigned char>(y));
         });
}

std::string ToLowerAscii(std::string_view s) {
  std::string lower(s);
  for (char& c : lower) c = absl::ascii_tolower(static_cast<unsigned char>(c));
  return lower;
}

std::vector<std::string_view> SplitOn(std::string_view s, char separator) {
  std::vector<std::string_view> pieces;
  while (true) {
    const size_t at = s.find(separator);
    pieces.push_back(s.substr(0, at));
    if (at == std::string_view::npos) return pieces;
    s.remove_prefix(at + 1);
  }
}

bool PercentDecode(std::string_view in, bool form, std::string* out) {
  bool valid = true;
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '+' && form) {
      out->push_back(' ');
    } else if (in[i] == '%' && i + 2 < in.size() && HexValue(in[i + 1]) >= 0 &&
               HexValue(in[i + 2]) >= 0) {
      out->push_back(
          static_cast<char>(HexValue(in[i + 1]) * 16 + HexValue(in[i + 2])));
      i += 2;
    } else {
      if (in[i] == '%') valid = false;
      out->push_back(in[i]);
    }
  }
  return valid;
}

std::string_view HttpRequest::Header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (EqualsIgnoreCaseAscii(key, name)) return value;
  }
  return {};
}

std::string HttpRequest::QueryParam(std::string_view name,
                                    bool* present) const {
  if (present != nullptr) *present = false;
  for (std::string_view pair : SplitOn(query, '&')) {
    const size_t equals = pair.find('=');
    std::string key;
    // A malformed escape is taken literally, as browsers and Go do.
    (void)PercentDecode(pair.substr(0, equals), /*form=*/true, &key);
    if (pair.empty() || key != name) continue;
    if (present != nullptr) *present = true;
    std::string value;
    if (equals != std::string_view::npos) {
      (void)PercentDecode(pair.substr(equals + 1), /*form=*/true, &value);
    }
    return value;
  }
  return "";
}

HttpRequestParser::Result HttpRequestParser::Feed(std::string_view data,
                                                  size_t* consumed) {
  CHECK(stage_ != Stage::kDone) << "a complete request is taken first";
  CHECK(stage_ != Stage::kFailed) << "a failed parser is fed no more";
  size_t pos = 0;
  Result result = Result::kIncomplete;
  while (result == Result::kIncomplete && pos < data.size()) {
    if (stage_ == Stage::kBody || stage_ == Stage::kChunkData) {
      result = TakeBody(data, &pos);
      continue;
    }
    const size_t newline = data.find('\n', pos);
    const size_t end =
        newline == std::string_view::npos ? data.size() : newline + 1;
    if (!AppendLinePiece(data.substr(pos, end - pos))) {
      result = Result::kError;
      break;
    }
    pos = end;
    if (newline == std::string_view::npos) break;
    line_.pop_back();  // the '\n'
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    const std::string line = std::exchange(line_, "");
    result = OnLine(line);
  }
  *consumed = pos;
  return result;
}

bool HttpRequestParser::AppendLinePiece(std::string_view piece) {
  if (stage_ == Stage::kChunkSize || stage_ == Stage::kChunkEnd) {
    if (line_.size() + piece.size() > kMaxChunkLineBytes) {
      Fail(400, "chunk size line too long");
      return false;
    }
  } else {
    header_bytes_ += piece.size();
    if (header_bytes_ > options_.max_header_bytes) {
      Fail(431,
           absl::StrCat(stage_ == Stage::kTrailers ? "trailer" : "header",
                        " section over ", options_.max_header_bytes, " bytes"));
      return false;
    }
  }
  line_.append(piece);
  return true;
}

HttpRequestParser::Result HttpRequestParser::TakeBody(std::string_view data,
                                                      size_t* pos) {
  const size_t n = std::min<uint64_t>(remaining_, data.size() - *pos);
  request_.body.append(data.substr(*pos, n));
  *pos += n;
  remaining_ -= n;
  if (remaining_ > 0) return Result::kIncomplete;
  if (stage_ == Stage::kBody) return Complete();
  stage_ = Stage::kChunkEnd;
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnLine(std::string_view line) {
  switch (stage_) {
    case Stage::kRequestLine:
      // Empty lines before a request are ignored (RFC 9112 §2.2).
      return line.empty() ? Result::kIncomplete : OnRequestLine(line);
    case Stage::kHeaders:
      return line.empty() ? OnHeadersEnd() : OnHeader(line);
    case Stage::kChunkSize:
      return OnChunkSize(line);
    case Stage::kChunkEnd:
      if (!line.empty()) return Fail(400, "chunk data not followed by CRLF");
      stage_ = Stage::kChunkSize;
      return Result::kIncomplete;
    case Stage::kTrailers:
      // Trailer fields are read and dropped: nothing here needs them.
      return line.empty() ? Complete() : Result::kIncomplete;
    default:
      CHECK(false) << "only line stages read lines";
      return Result::kError;
  }
}

HttpRequestParser::Result HttpRequestParser::OnRequestLine(
    std::string_view line) {
  // request-line = method SP request-target SP HTTP-version (§3)
  const size_t first = line.find(' ');
  const size_t last = line.rfind(' ');
  if (first == std::string_view::npos || first == last) {
    return Fail(400, "malformed request line");
  }
  // The version first, so that HTTP/2's preface ("PRI * HTTP/2.0") is told
  // its version is not served.
  if (Result r = OnVersion(line.substr(last + 1)); r != Result::kIncomplete) {
    return r;
  }
  const std::string_view method = line.substr(0, first);
  if (!IsHttpToken(method))
    return Fail(400, "malformed method in request line");
  request_.method = std::string(method);
  if (Result r = OnTarget(line.substr(first + 1, last - first - 1));
      r != Result::kIncomplete) {
    return r;
  }
  stage_ = Stage::kHeaders;
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnVersion(
    std::string_view version) {
  // HTTP-version = "HTTP/" DIGIT "." DIGIT
  if (!version.starts_with("HTTP/")) {
    return Fail(400, "malformed HTTP version in request line");
  }
  const std::string_view number = version.substr(5);
  const std::string_view major = number.substr(0, number.find('.'));
  const bool numeric =
      !major.empty() && std::all_of(major.begin(), major.end(), [](char c) {
        return absl::ascii_isdigit(static_cast<unsigned char>(c));
      });
  if (numeric && major != "1") {
    return Fail(505, absl::StrCat("HTTP version ", Quoted(version),
                                  " is not supported; use HTTP/1.1"));
  }
  if (number.size() != 3 || number[0] != '1' || number[1] != '.' ||
      !absl::ascii_isdigit(static_cast<unsigned char>(number[2]))) {
    return Fail(400, "malformed HTTP version in request line");
  }
  request_.minor_version = number[2] - '0';
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnTarget(std::string_view target) {
  const bool visible = std::all_of(target.begin(), target.end(),
                                   [](char c) { return c > 0x20 && c < 0x7f; });
  if (target.empty() || !visible) {
    return Fail(400, "malformed request target");
  }
  request_.target = std::string(target);
  const size_t question = target.find('?');
  std::string_view path = target.substr(0, question);
  if (question != std::string_view::npos) {
    request_.query = std::string(target.substr(question + 1));
  }
  // The absolute form (§3.2.2) names the server too; only its path counts.
  for (std::string_view scheme : {"http://", "https://"}) {
    if (!EqualsIgnoreCaseAscii(path.substr(0, scheme.size()), scheme)) continue;
    const size_t slash = path.find('/', scheme.size());
    path = slash == std::string_view::npos ? "/" : path.substr(slash);
  }
  if (path.front() != '/' && path != "*") {
    return Fail(400, "request target must start with '/'");
  }
  if (!PercentDecode(path, /*form=*/false, &request_.path)) {
    return Fail(400, "invalid percent-encoding in request path");
  }
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnHeader(std::string_view line) {
  if (line.front() == ' ' || line.front() == '\t') {
    return Fail(400, "obsolete line folding in header section");
  }
  const size_t colon = line.find(':');
  if (colon == std::string_view::npos) {
    return Fail(400, "malformed header line (no ':')");
  }
  // No whitespace may come between the name and the colon (§5.1).
  const std::string_view name = line.substr(0, colon);
  if (!IsHttpToken(name)) return Fail(400, "malformed header name");
  const std::string_view value = TrimHttpWhitespace(line.substr(colon + 1));
  if (!IsHttpFieldValue(value)) {
    return Fail(400, "invalid character in header value");
  }
  request_.headers.emplace_back(ToLowerAscii(name), std::string(value));
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnHeadersEnd() {
  bool has_transfer_encoding = false;
  std::vector<std::string> codings;
  std::vector<std::string_view> lengths;
  for (const auto& [name, value] : request_.headers) {
    if (name == "transfer-encoding") {
      has_transfer_encoding = true;
      for (std::string_view coding : SplitOn(value, ',')) {
        coding = TrimHttpWhitespace(coding);
        if (!coding.empty()) codings.push_back(ToLowerAscii(coding));
      }
    } else if (name == "content-length") {
      for (std::string_view length : SplitOn(value, ',')) {
        lengths.push_back(TrimHttpWhitespace(length));
      }
    }
  }
  // Both would let two parsers disagree on where the body ends (§6.1).
  if (has_transfer_encoding && !lengths.empty()) {
    return Fail(400, "both Content-Length and Transfer-Encoding");
  }
  if (has_transfer_encoding) return StartChunked(codings);
  if (!lengths.empty()) return StartLength(lengths);
  return Complete();
}

HttpRequestParser::Result HttpRequestParser::StartChunked(
    const std::vector<std::string>& codings) {
  for (const std::string& coding : codings) {
    if (coding != "chunked") {
      return Fail(501, absl::StrCat("transfer coding ", Quoted(coding),
                                    " is not implemented"));
    }
  }
  if (codings.size() != 1) return Fail(400, "invalid Transfer-Encoding");
  stage_ = Stage::kChunkSize;
  MaybeExpectContinue();
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::StartLength(
    const std::vector<std::string_view>& lengths) {
  // Repeats of one value are allowed (§6.3); differing ones are not.
  std::optional<uint64_t> length;
  for (std::string_view text : lengths) {
    uint64_t value = 0;
    if (text.empty() || text.size() > 18) {
      return Fail(400, "invalid Content-Length");
    }
    for (char c : text) {
      if (!absl::ascii_isdigit(static_cast<unsigned char>(c))) {
        return Fail(400, "invalid Content-Length");
      }
      value = value * 10 + (c - '0');
    }
    if (length.has_value() && *length != value) {
      return Fail(400, "conflicting Content-Length values");
    }
    length = value;
  }
  if (*length > options_.max_body_bytes) {
    return Fail(413, absl::StrCat("request body over ", options_.max_body_bytes,
                                  " bytes"));
  }
  if (*length == 0) return Complete();
  remaining_ = *length;
  stage_ = Stage::kBody;
  MaybeExpectContinue();
  return Result::kIncomplete;
}

HttpRequestParser::Result HttpRequestParser::OnChunkSize(
    std::string_view line) {
  // chunk-size [ chunk-ext ] CRLF, where chunk-ext = *( BWS ";" ... ).
  uint64_t size = 0;
  size_t digits = 0;
  for (; digits < line.size() && HexValue(line[digits]) >= 0; ++digits) {
    if (digits == 15) return Fail(400, "chunk size too large");
    size = size * 16 + HexValue(line[digits]);
  }
  const std::string_view rest = TrimHttpWhitespace(line.substr(digits));
  if (digits == 0 || (!rest.empty() && rest.front() != ';')) {
    return Fail(400, "invalid chunk size");
  }
  // Extensions are ignored, as §7.1.1 lets a recipient do.
  if (size == 0) {
    stage_ = Stage::kTrailers;
    header_bytes_ = 0;
    return Result::kIncomplete;
  }
  if (request_.body.size() + size > options_.max_body_bytes) {
    return Fail(413, absl::StrCat("request body over ", options_.max_body_bytes,
                                  " bytes"));
  }
  remaining_ = size;
  stage_ = Stage::kChunkData;
  return Result::kIncomplete;
}

void HttpRequestParser::MaybeExpectContinue() {
  continue_pending_ =
      request_.minor_version >= 1 &&
      EqualsIgnoreCaseAscii(request_.Header("expect"), "100-continue");
}

HttpRequest HttpRequestParser::TakeRequest() {
  CHECK(stage_ == Stage::kDone) << "only a complete request is taken";
  HttpRequest request = std::exchange(request_, HttpRequest{});
  stage_ = Stage::kRequestLine;
  header_bytes_ = 0;
  remaining_ = 0;
  continue_pending_ = false;
  return request;
}

}  // namespace etcdpp::net
