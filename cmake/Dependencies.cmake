# Finds the Debian-packaged dependencies and says what it found.
find_package(PkgConfig REQUIRED)
pkg_check_modules(ZMQ REQUIRED IMPORTED_TARGET libzmq)
pkg_check_modules(PROTOBUF_C REQUIRED IMPORTED_TARGET libprotobuf-c)
pkg_check_modules(SODIUM REQUIRED IMPORTED_TARGET libsodium)
pkg_check_modules(INIH REQUIRED IMPORTED_TARGET inih)
pkg_check_modules(MHD REQUIRED IMPORTED_TARGET libmicrohttpd)
pkg_check_modules(CMOCKA IMPORTED_TARGET cmocka)
find_package(OpenSSL REQUIRED)
find_package(ZLIB REQUIRED)
find_package(Threads REQUIRED)
find_library(MATH_LIBRARY m)

find_program(PROTOC_C protoc-c REQUIRED)

# BLAS: OpenBLAS is linked explicitly (not the libblas alternative) so that the
# process can steer its kernel choice at start-up; see docs/PERFORMANCE.md.
find_path(OPENBLAS_INCLUDE_DIR cblas.h PATHS /usr/include/x86_64-linux-gnu/openblas-pthread /usr/include/openblas NO_DEFAULT_PATH)
find_library(OPENBLAS_LIBRARY NAMES openblas PATHS /usr/lib/x86_64-linux-gnu/openblas-pthread)
if(NOT OPENBLAS_INCLUDE_DIR OR NOT OPENBLAS_LIBRARY)
  message(FATAL_ERROR "OpenBLAS not found: apt-get install libopenblas-dev")
endif()
add_library(ft_blas INTERFACE)
target_include_directories(ft_blas INTERFACE ${OPENBLAS_INCLUDE_DIR})
target_link_libraries(ft_blas INTERFACE ${OPENBLAS_LIBRARY})
set(FT_BLAS_DESCRIPTION "OpenBLAS (${OPENBLAS_LIBRARY})")

# LAPACKE (liblapacke-dev): the symmetric eigensolver behind the defenses' SVD/PCA
# (DnC's top singular vector, RFLBAT's PCA). Its LAPACK is the system one (OpenBLAS'
# where that is the liblapack.so.3 alternative).
find_path(LAPACKE_INCLUDE_DIR lapacke.h)
find_library(LAPACKE_LIBRARY NAMES lapacke)
if(NOT LAPACKE_INCLUDE_DIR OR NOT LAPACKE_LIBRARY)
  message(FATAL_ERROR "LAPACKE not found: apt-get install liblapacke-dev")
endif()
add_library(ft_lapack INTERFACE)
target_include_directories(ft_lapack INTERFACE ${LAPACKE_INCLUDE_DIR})
target_link_libraries(ft_lapack INTERFACE ${LAPACKE_LIBRARY} ft_blas)

# CUDA: auto-detected; everything builds and runs without it.
set(FT_CUDA_ENABLED OFF)
if(NOT FT_CUDA STREQUAL "OFF")
  include(CheckLanguage)
  if(NOT CMAKE_CUDA_COMPILER AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  check_language(CUDA)
  if(CMAKE_CUDA_COMPILER)
    enable_language(CUDA)
    find_package(CUDAToolkit)
    if(CUDAToolkit_FOUND)
      set(FT_CUDA_ENABLED ON)
    endif()
  elseif(FT_CUDA STREQUAL "ON")
    message(FATAL_ERROR "FT_CUDA=ON but no CUDA compiler was found")
  endif()
endif()
