#include "io/hdf5_attributes.hpp"

#include <cstring>

#include "io/errors.hpp"
#include "io/hdf5_handle.hpp"

namespace kvsim {

void write_int_attribute(hid_t object, const char* name, long long value, const std::string& where) {
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(object, name, H5T_STD_I64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_LLONG, &value) < 0)
    throw InputError(where + ": cannot write attribute " + name);
}

void write_double_attribute(hid_t object, const char* name, double value, const std::string& where) {
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(object, name, H5T_IEEE_F64LE, space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  if (!attr.valid() || H5Awrite(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0)
    throw InputError(where + ": cannot write attribute " + name);
}

void write_string_attribute(hid_t object, const char* name, const std::string& value, const std::string& where) {
  H5Id type(H5Tcopy(H5T_C_S1), H5Tclose);
  H5Tset_size(type.get(), H5T_VARIABLE);
  H5Tset_cset(type.get(), H5T_CSET_UTF8);
  H5Id space(H5Screate(H5S_SCALAR), H5Sclose);
  H5Id attr(H5Acreate2(object, name, type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT), H5Aclose);
  const char* raw = value.c_str();
  if (!attr.valid() || H5Awrite(attr.get(), type.get(), &raw) < 0)
    throw InputError(where + ": cannot write attribute " + name);
}

namespace {
H5Id open_attribute(hid_t file, const char* name, const std::string& file_name, const char* object) {
  if (H5Aexists(file, name) <= 0)
    throw InputError(file_name + ": missing " + object + " attribute '" + std::string(name) + "'");
  H5Id attr(H5Aopen(file, name, H5P_DEFAULT), H5Aclose);
  if (!attr.valid()) throw InputError(file_name + ": cannot open attribute '" + name + "'");
  return attr;
}

}  // namespace

long long read_int_attribute(hid_t file, const char* name, const std::string& file_name, const char* object) {
  H5Id attr = open_attribute(file, name, file_name, object);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_INTEGER)
    throw InputError(file_name + ": attribute '" + name + "' must be an integer");
  long long value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_LLONG, &value) < 0)
    throw InputError(file_name + ": cannot read attribute '" + name + "'");
  return value;
}

double read_float_attribute(hid_t file, const char* name, const std::string& file_name, const char* object) {
  H5Id attr = open_attribute(file, name, file_name, object);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  H5T_class_t cls = H5Tget_class(type.get());
  if (cls != H5T_FLOAT && cls != H5T_INTEGER)
    throw InputError(file_name + ": attribute '" + name + "' must be a number");
  double value = 0;
  if (H5Aread(attr.get(), H5T_NATIVE_DOUBLE, &value) < 0)
    throw InputError(file_name + ": cannot read attribute '" + name + "'");
  return value;
}

std::string read_string_attribute(hid_t file, const char* name, const std::string& file_name, const char* object) {
  H5Id attr = open_attribute(file, name, file_name, object);
  H5Id type(H5Aget_type(attr.get()), H5Tclose);
  if (H5Tget_class(type.get()) != H5T_STRING)
    throw InputError(file_name + ": attribute '" + name + "' must be a string");
  if (H5Tis_variable_str(type.get()) > 0) {
    H5Id memtype(H5Tcopy(H5T_C_S1), H5Tclose);
    H5Tset_size(memtype.get(), H5T_VARIABLE);
    H5Tset_cset(memtype.get(), H5Tget_cset(type.get()));
    char* raw = nullptr;
    if (H5Aread(attr.get(), memtype.get(), &raw) < 0 || raw == nullptr)
      throw InputError(file_name + ": cannot read attribute '" + name + "'");
    std::string value(raw);
    H5free_memory(raw);
    return value;
  }
  std::size_t size = H5Tget_size(type.get());
  std::string buffer(size, '\0');
  if (H5Aread(attr.get(), type.get(), buffer.data()) < 0)
    throw InputError(file_name + ": cannot read attribute '" + name + "'");
  buffer.resize(std::strlen(buffer.c_str()));
  return buffer;
}

}  // namespace kvsim
