#pragma once
// Scalar attributes on an HDF5 object, each failure an InputError naming
// `where` (the file) and the attribute. Call under hdf5_mutex().
#include <hdf5.h>

#include <string>

namespace kvsim {

void write_int_attribute(hid_t object, const char* name, long long value, const std::string& where);
void write_double_attribute(hid_t object, const char* name, double value, const std::string& where);
void write_string_attribute(hid_t object, const char* name, const std::string& value, const std::string& where);

}  // namespace kvsim
