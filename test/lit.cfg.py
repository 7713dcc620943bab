# -*- Python -*-
# lit configuration of the infini test suite: FileCheck tests of the dialect,
# passes and tools, and end-to-end numerical tests against a float64
# reference (they need a Python with numpy and torch).

import os

import lit.formats
from lit.llvm import llvm_config

config.name = "INFINI"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test", ".json"]
config.excludes = ["configs", "reference", "runtime", "inputs", "Inputs",
                   "CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.infini_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)
llvm_config.with_environment("PATH", config.infini_tools_dir, append_path=True)
config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(
    ("%reference", os.path.join(config.test_source_root, "reference")))

llvm_config.add_tool_substitutions(
    ["infini-opt", "infini-run", "infini-translate"], [config.infini_tools_dir])

# lit runs tests in parallel on few cores: one OpenMP thread per tool process
# avoids oversubscription (tests that need threads pass --num-threads).
config.environment["OMP_NUM_THREADS"] = "1"

# GPU code generation tests that assemble the generated PTX need ptxas from
# the CUDA toolkit (found by CMake); without it they are reported UNSUPPORTED.
if config.ptxas_executable and os.path.exists(config.ptxas_executable):
    config.available_features.add("ptxas")
    config.substitutions.append(("%ptxas", config.ptxas_executable))
    # gpu-module-to-binary links libdevice and, for cubins, runs ptxas and
    # fatbinary from the toolkit that holds this ptxas.
    config.substitutions.append(
        ("%cuda_toolkit",
         os.path.dirname(os.path.dirname(config.ptxas_executable))))
config.substitutions.append(
    ("%extract_ptx", config.python_executable + " " + os.path.join(
        config.test_source_root, "Passes", "gpu", "Inputs", "extract_ptx.py")))

# Numerical tests of the GPU mapping without a GPU compile models to shared
# libraries with mlir-translate, llc and the system C compiler; the CPU
# pipeline's code needs infini's codegen support library (strided copies,
# temporary buffers) and OpenMP.
import shutil
if shutil.which("cc"):
    config.available_features.add("cc")
llvm_lib_dir = os.path.join(os.path.dirname(config.llvm_tools_dir), "lib")
config.substitutions.append(
    ("%mlir_runtime_libs",
     "{0} -L{1} -lomp -Wl,-rpath,{1}".format(config.codegen_support_library,
                                            llvm_lib_dir)))

# Tests that run CUDA artifacts need a CUDA driver and a device.
def _cuda_device_present():
    import ctypes
    try:
        driver = ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    count = ctypes.c_int(0)
    return (driver.cuInit(0) == 0 and
            driver.cuDeviceGetCount(ctypes.byref(count)) == 0 and count.value > 0)


if _cuda_device_present():
    config.available_features.add("cuda-device")

# A libcuda.so.1 that runs no kernels (test/runtime/FakeCudaDriver.cpp): on
# LD_LIBRARY_PATH it lets tests run CUDA artifacts' host code and the CUDA
# backend without a GPU, and count their driver calls.
config.substitutions.append(
    ("%fake_cuda_dir", os.path.join(config.infini_obj_root, "test", "fake-cuda")))
config.substitutions.append(
    ("%fake_cuda_no_graphs_dir",
     os.path.join(config.infini_obj_root, "test", "fake-cuda-no-graphs")))
