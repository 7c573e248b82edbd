// The per-server and per-location directives (root, alias, index, try_files, return, add_header,
// allow/deny, auth_basic, access_log, ...): each one's value checked and applied to a
// LocationSettings. RouteConfig walks the blocks; a new handler directive is a row here.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "ConfParser.h"
#include "LocationSettings.h"
#include "LogFormat.h"

namespace hs {

// Where directives are being applied: one server or location block.
struct SettingsLevel {
  LocationSettings* settings;
  bool regexLocation = false;  // a `location ~` or `~*` block (alias is refused there)
  size_t prefixLength = 0;     // the location's URI or prefix length (alias replaces it)
  std::map<std::string, std::string, std::less<>> seen;  // directive group -> "FILE:LINE" first set
};

// What directives refer to across levels: log formats by name, htpasswd files by path (each file
// read once per configuration).
struct SettingsContext {
  const std::map<std::string, std::unique_ptr<LogFormat>, std::less<>>* logFormats;
  std::map<std::string, std::shared_ptr<const Htpasswd>> htpasswds;
  // When set (-t), an htpasswd file that cannot be read is listed here ("FILE:LINE: reason") and
  // compiling goes on, so that every such file is reported.
  std::vector<std::string>* deferred = nullptr;
};

// Whether `name` is one of the directives applySetting handles.
bool isSettingDirective(std::string_view name);

// Applies one directive (its argument count already checked by ConfGrammar). Returns "" or the
// reason, without the "FILE:LINE: " prefix.
std::string applySetting(const ConfNode& n, SettingsLevel* level, SettingsContext* ctx);

// Checks a level once all its directives are applied (e.g. auth_basic needs a user file).
std::string checkSettings(const LocationSettings& s);

}  // namespace hs
