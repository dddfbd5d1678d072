#include "io/hdf5_attributes.hpp"

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

}  // namespace kvsim
