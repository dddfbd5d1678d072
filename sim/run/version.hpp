#pragma once
// Version and git revision recorded in run.json / analyze.json. The revision
// lives in one generated source file (build/kvsim_revision.cpp), so a new
// commit recompiles that file only, not the whole library.
namespace kvsim {

const char* kvsim_version();
const char* kvsim_git_revision();

}  // namespace kvsim
