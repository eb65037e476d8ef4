# SPDX-License-Identifier: Apache-2.0
#
# GaneshaSDK.cmake - build FSAL modules against Debian bookworm's nfs-ganesha 4.3.
#
# The headers come from the SDK that scripts/ganesha-sdk.sh (run by
# scripts/setup.sh) prepares in <repo>/.cache/ganesha-sdk; the library is the
# packaged /usr/lib/ganesha/libganesha_nfsd.so.4.3. Flags, macros and link line
# follow ../shared/docs/ganesha-fsal-sdk.md.
#
# Provides:
#   ganesha::sdk                  INTERFACE target: SDK include dirs (SYSTEM, so the
#                                 headers' own warnings do not trip -Werror), the
#                                 compile definitions/options of Debian's build, and
#                                 libganesha_nfsd + ntirpc + urcu-bp + pthread.
#   famfs_add_fsal_module(<target> <source>...)
#                                 a MODULE lib<target>.so linked against ganesha::sdk
#                                 with -z defs (unless FAMFS_SANITIZE), relro, now,
#                                 RUNPATH /usr/lib/ganesha.
#   GANESHA_SDK_DIR               cache var, the SDK location.
#   GANESHA_NFSD_LIBRARY          cache var, libganesha_nfsd.so.4.3.
#   GANESHA_FSAL_DIR              where Debian's ganesha.nfsd looks for FSALs
#                                 (install destination for libfsal<name>.so).
# Reads FAMFS_SANITIZE (ON: -fsanitize=... elsewhere, so no -z defs here).
include_guard(GLOBAL)

cmake_path(GET CMAKE_CURRENT_LIST_DIR PARENT_PATH _ganesha_repo)
set(GANESHA_SDK_DIR "${_ganesha_repo}/.cache/ganesha-sdk"
    CACHE PATH "nfs-ganesha FSAL SDK prepared by scripts/ganesha-sdk.sh")
set(GANESHA_NFSD_LIBRARY "/usr/lib/ganesha/libganesha_nfsd.so.4.3"
    CACHE FILEPATH "Debian's libganesha_nfsd (the FSAL ABI provider)")
set(GANESHA_FSAL_DIR "/usr/lib/${CMAKE_LIBRARY_ARCHITECTURE}/ganesha"
    CACHE PATH "FSAL plugin directory of the packaged ganesha.nfsd")
unset(_ganesha_repo)

set(_ganesha_hint "run scripts/setup.sh (as root on a fresh machine)")
foreach(_f stamp include/config.h src/include/fsal_api.h)
  if(NOT EXISTS "${GANESHA_SDK_DIR}/${_f}")
    message(FATAL_ERROR
      "nfs-ganesha FSAL SDK not found: ${GANESHA_SDK_DIR}/${_f} is missing.\n"
      "${_ganesha_hint} to prepare it, or set -DGANESHA_SDK_DIR=<dir>.")
  endif()
endforeach()
if(NOT EXISTS "${GANESHA_NFSD_LIBRARY}")
  message(FATAL_ERROR "${GANESHA_NFSD_LIBRARY} not found (package nfs-ganesha 4.3): "
    "${_ganesha_hint}")
endif()
file(READ "${GANESHA_SDK_DIR}/stamp" _ganesha_stamp)
string(STRIP "${_ganesha_stamp}" _ganesha_stamp)
message(STATUS "nfs-ganesha FSAL SDK: ${GANESHA_SDK_DIR} (${_ganesha_stamp})")
unset(_ganesha_stamp)

find_path(GANESHA_NTIRPC_INCLUDE_DIR rpc/xdr_inline.h PATH_SUFFIXES ntirpc)
find_library(GANESHA_NTIRPC_LIBRARY ntirpc)
find_library(GANESHA_URCU_BP_LIBRARY urcu-bp)
find_package(PkgConfig REQUIRED)
pkg_check_modules(GANESHA_DBUS REQUIRED QUIET dbus-1)
find_package(Threads REQUIRED)
foreach(_v GANESHA_NTIRPC_INCLUDE_DIR GANESHA_NTIRPC_LIBRARY GANESHA_URCU_BP_LIBRARY)
  if(NOT ${_v})
    message(FATAL_ERROR "${_v} not found (libntirpc-dev, liburcu-dev): ${_ganesha_hint}")
  endif()
endforeach()
unset(_ganesha_hint)

add_library(ganesha_sdk INTERFACE)
add_library(ganesha::sdk ALIAS ganesha_sdk)
# config.h first: the ganesha headers include "config.h" by that name.
target_include_directories(ganesha_sdk SYSTEM INTERFACE
  "${GANESHA_SDK_DIR}/include"
  "${GANESHA_SDK_DIR}/src/include"
  "${GANESHA_SDK_DIR}/src/include/os/linux"
  "${GANESHA_SDK_DIR}/src/FSAL"
  "${GANESHA_SDK_DIR}/src/FSAL/Stackable_FSALs/FSAL_MDCACHE"
  "${GANESHA_NTIRPC_INCLUDE_DIR}"
  ${GANESHA_DBUS_INCLUDE_DIRS})
# As in Debian's build. The SDK defines _GNU_SOURCE=1 itself: FSAL sources must
# not #define it again (redefinition warning).
target_compile_definitions(ganesha_sdk INTERFACE
  _GNU_SOURCE=1 _LARGEFILE64_SOURCE _FILE_OFFSET_BITS=64 HAS_DOFF __USE_GNU)
target_compile_options(ganesha_sdk INTERFACE -fno-strict-aliasing)
target_compile_features(ganesha_sdk INTERFACE c_std_11)
target_link_libraries(ganesha_sdk INTERFACE
  "${GANESHA_NFSD_LIBRARY}" "${GANESHA_NTIRPC_LIBRARY}" "${GANESHA_URCU_BP_LIBRARY}"
  Threads::Threads)

# famfs_add_fsal_module(<target> <source>...)
#
# Builds lib<target>.so as a ganesha plugin. ganesha.nfsd dlopens
# <Plugins_Dir>/libfsal<lowercased FSAL name>.so, so an FSAL named FAMFS is the
# target fsalfamfs. -z defs turns a call to anything libganesha_nfsd does not
# export (it exports only 231 symbols) into a link error instead of a dlopen
# failure; sanitizer runtimes are not linked into modules, so FAMFS_SANITIZE
# drops it. Symbols are hidden: ganesha finds a module through its MODULE_INIT
# constructor, not through exports.
function(famfs_add_fsal_module target)
  if(ARGC LESS 2)
    message(FATAL_ERROR "famfs_add_fsal_module(${target}): no sources")
  endif()
  add_library(${target} MODULE ${ARGN})
  target_link_libraries(${target} PRIVATE ganesha::sdk)
  set_target_properties(${target} PROPERTIES
    C_STANDARD 11
    C_STANDARD_REQUIRED ON
    C_EXTENSIONS ON
    C_VISIBILITY_PRESET hidden
    BUILD_RPATH /usr/lib/ganesha
    INSTALL_RPATH /usr/lib/ganesha)
  target_link_options(${target} PRIVATE
    LINKER:--as-needed LINKER:-z,relro LINKER:-z,now)
  if(NOT FAMFS_SANITIZE)
    target_link_options(${target} PRIVATE LINKER:-z,defs)
  endif()
endfunction()
