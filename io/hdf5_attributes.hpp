#pragma once
// Scalar attributes on an HDF5 object, each failure an InputError naming
// `where` (the file) and the attribute. Call under hdf5_mutex(). Readers check
// the stored type (an integer must be an integer) and name `object` (e.g.
// "root", "/items/0") when the attribute is missing.
#include <hdf5.h>

#include <string>

namespace kvsim {

void write_int_attribute(hid_t object, const char* name, long long value, const std::string& where);
void write_double_attribute(hid_t object, const char* name, double value, const std::string& where);
void write_string_attribute(hid_t object, const char* name, const std::string& value, const std::string& where);

long long read_int_attribute(hid_t object, const char* name, const std::string& file_name, const char* object_name = "root");
double read_float_attribute(hid_t object, const char* name, const std::string& file_name, const char* object_name = "root");
std::string read_string_attribute(hid_t object, const char* name, const std::string& file_name,
                                  const char* object_name = "root");

}  // namespace kvsim
