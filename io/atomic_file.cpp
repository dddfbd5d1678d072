#include "io/atomic_file.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "io/errors.hpp"

namespace kvsim {

AtomicFile::AtomicFile(std::string final_path) : final_path_(std::move(final_path)) {
  temp_path_ = final_path_ + ".tmp." + std::to_string(::getpid());
}

AtomicFile::~AtomicFile() {
  if (!committed_) std::remove(temp_path_.c_str());
}

void AtomicFile::commit() {
  if (std::rename(temp_path_.c_str(), final_path_.c_str()) != 0) {
    throw InputError("cannot rename " + temp_path_ + " to " + final_path_ + ": " +
                     std::strerror(errno));
  }
  committed_ = true;
}

AtomicTextWriter::AtomicTextWriter(const std::string& path)
    : file_(path), out_(file_.temp_path(), std::ios::binary | std::ios::trunc) {
  if (!out_) throw InputError("cannot write " + path + ": " + std::strerror(errno));
}

void AtomicTextWriter::append(const std::string& text) {
  out_ << text;
  if (!out_) throw InputError("cannot write " + path() + ": write failed (disk full?)");
}

void AtomicTextWriter::commit() {
  out_.flush();
  if (!out_) throw InputError("cannot write " + path() + ": write failed (disk full?)");
  out_.close();
  if (!out_) throw InputError("cannot write " + path() + ": close failed");
  file_.commit();
}

void write_file_atomically(const std::string& path, const std::string& content) {
  AtomicFile file(path);
  {
    std::ofstream out(file.temp_path(), std::ios::binary | std::ios::trunc);
    if (!out) throw InputError("cannot write " + path + ": " + std::strerror(errno));
    out << content;
    out.flush();
    if (!out) throw InputError("cannot write " + path + ": write failed (disk full?)");
  }
  file.commit();
}

}  // namespace kvsim
