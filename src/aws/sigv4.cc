#include "aws/sigv4.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <ctime>
#include <map>
#include <string>
#include <vector>

namespace evsrc::aws {
namespace {

constexpr std::string_view kAlgorithm = "AWS4-HMAC-SHA256";

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(size * 2, '\0');
  for (std::size_t i = 0; i < size; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

// The raw 32-byte HMAC-SHA256 of `data` under `key`.
std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), size);
}

std::string lowercase(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool unreserved(unsigned char c) { return std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~'; }

// RFC 3986 percent-encoding of everything but the unreserved characters, in
// upper-case hex, as SigV4 requires.
std::string uri_encode(std::string_view text) {
  static constexpr char kDigits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c)) {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kDigits[c >> 4];
      out += kDigits[c & 0xf];
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Undoes %XX escapes; a '%' not followed by two hex digits stays literal.
std::string percent_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out += static_cast<char>(high * 16 + low);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

// The path with empty, "." and ".." segments resolved (RFC 3986 5.2.4), each
// segment URI-encoded; "/" when nothing is left. A trailing slash is kept.
std::string canonical_uri(std::string_view path) {
  std::vector<std::string_view> segments;
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "..") {
      if (!segments.empty()) segments.pop_back();
    } else if (!segment.empty() && segment != ".") {
      segments.push_back(segment);
    }
    start = end + 1;
  }
  std::string out;
  for (std::string_view segment : segments) {
    out += '/';
    out += uri_encode(segment);
  }
  if (out.empty() || path.ends_with('/')) out += '/';
  return out;
}

// Parameters decoded, re-encoded, and sorted by name then value.
std::string canonical_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> parameters;
  std::size_t start = 0;
  while (start < query.size()) {
    std::size_t end = query.find('&', start);
    if (end == std::string_view::npos) end = query.size();
    std::string_view parameter = query.substr(start, end - start);
    if (!parameter.empty()) {
      std::size_t equals = parameter.find('=');
      std::string_view name = parameter.substr(0, equals);
      std::string_view value = equals == std::string_view::npos ? std::string_view() : parameter.substr(equals + 1);
      parameters.emplace_back(uri_encode(percent_decode(name)), uri_encode(percent_decode(value)));
    }
    start = end + 1;
  }
  std::sort(parameters.begin(), parameters.end());
  std::string out;
  for (const auto& [name, value] : parameters) {
    if (!out.empty()) out += '&';
    out += name;
    out += '=';
    out += value;
  }
  return out;
}

// Leading and trailing spaces removed, inner runs of spaces and tabs made one
// space.
std::string trim_header_value(std::string_view value) {
  std::string out;
  bool pending_space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
      pending_space = !out.empty();
    } else {
      if (pending_space) out += ' ';
      pending_space = false;
      out += c;
    }
  }
  return out;
}

void erase_header(HttpRequestToSign& request, std::string_view lowercase_name) {
  std::erase_if(request.headers, [&](const auto& header) { return lowercase(header.first) == lowercase_name; });
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  unsigned int size = 0;
  EVP_Digest(data.data(), data.size(), digest, &size, EVP_sha256(), nullptr);
  return hex(digest, size);
}

std::string canonical_request(const HttpRequestToSign& request, std::string& signed_headers_out) {
  // Repeated headers are joined with ',' in the order they were given.
  std::map<std::string, std::string> headers;
  for (const auto& [name, value] : request.headers) {
    auto [it, inserted] = headers.try_emplace(lowercase(name), trim_header_value(value));
    if (!inserted) {
      it->second += ',';
      it->second += trim_header_value(value);
    }
  }
  std::string canonical_headers;
  signed_headers_out.clear();
  for (const auto& [name, value] : headers) {
    canonical_headers += name + ':' + value + '\n';
    if (!signed_headers_out.empty()) signed_headers_out += ';';
    signed_headers_out += name;
  }
  std::string out = request.method;
  out += '\n';
  out += canonical_uri(request.path);
  out += '\n';
  out += canonical_query(request.query);
  out += '\n';
  out += canonical_headers;
  out += '\n';
  out += signed_headers_out;
  out += '\n';
  out += sha256_hex(request.body);
  return out;
}

namespace {
std::string credential_scope(std::string_view amz_date, const SigningScope& scope) {
  std::string out(amz_date.substr(0, 8));
  out += '/';
  out += scope.region;
  out += '/';
  out += scope.service;
  out += "/aws4_request";
  return out;
}
}  // namespace

std::string string_to_sign(std::string_view amz_date, const SigningScope& scope, std::string_view canonical) {
  std::string out(kAlgorithm);
  out += '\n';
  out += amz_date;
  out += '\n';
  out += credential_scope(amz_date, scope);
  out += '\n';
  out += sha256_hex(canonical);
  return out;
}

std::string signature(std::string_view secret_access_key, std::string_view amz_date, const SigningScope& scope,
                      std::string_view string_to_sign) {
  std::string key = "AWS4" + std::string(secret_access_key);
  key = hmac_sha256(key, amz_date.substr(0, 8));
  key = hmac_sha256(key, scope.region);
  key = hmac_sha256(key, scope.service);
  key = hmac_sha256(key, "aws4_request");
  std::string mac = hmac_sha256(key, string_to_sign);
  return hex(reinterpret_cast<const unsigned char*>(mac.data()), mac.size());
}

void sign(HttpRequestToSign& request, const Credentials& credentials, const SigningScope& scope,
          std::string_view amz_date) {
  erase_header(request, "authorization");
  erase_header(request, "x-amz-date");
  erase_header(request, "x-amz-security-token");
  request.headers.emplace_back("X-Amz-Date", std::string(amz_date));
  if (!credentials.session_token.empty()) {
    request.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
  }
  std::string signed_headers;
  std::string canonical = canonical_request(request, signed_headers);
  std::string authorization(kAlgorithm);
  authorization += " Credential=" + credentials.access_key_id + '/' + credential_scope(amz_date, scope);
  authorization += ", SignedHeaders=" + signed_headers;
  authorization += ", Signature=" + signature(credentials.secret_access_key, amz_date, scope,
                                              string_to_sign(amz_date, scope, canonical));
  request.headers.emplace_back("Authorization", std::move(authorization));
}

std::string amz_date_now() {
  std::time_t now = std::time(nullptr);
  std::tm utc{};
  gmtime_r(&now, &utc);
  char text[sizeof "20150830T123600Z"];
  std::strftime(text, sizeof text, "%Y%m%dT%H%M%SZ", &utc);
  return text;
}

}  // namespace evsrc::aws
