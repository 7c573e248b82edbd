// Process titles as `ps` shows them ("HttpServer: master", "HttpServer: worker 3"), by rewriting
// the argv area in place as nginx does, plus the kernel's short name (prctl PR_SET_NAME).
#pragma once

namespace hs {

// Records the argv area. Call once from main() before anything reads argv through pointers that
// must stay valid (copy what you need first: the area is overwritten by setProcTitle).
void initProcTitle(int argc, char** argv);

// `title` replaces argv as ps shows it; `shortName` (at most 15 characters) is the kernel's comm.
void setProcTitle(const char* title, const char* shortName);

}  // namespace hs
