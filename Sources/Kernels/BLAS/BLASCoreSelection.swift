import Foundation

/// Restarts the process once with `OPENBLAS_CORETYPE` set when the linked OpenBLAS fell back to
/// its generic kernels on a CPU it does not know (see `BLASInfo`). OpenBLAS reads the variable
/// only while it loads, before `main`, hence the restart. A user's own `OPENBLAS_CORETYPE` always
/// wins, and `ADAPTERS_NO_BLAS_RESTART=1` turns this off.
///
/// For executables only, called first thing in `main` (the `adapters` CLI and the examples do): it
/// replaces the process image, so nothing done before it survives. Libraries never call it.
public enum BLASCoreSelection {
    public static func restartWithOptimizedKernelsIfNeeded() {
        #if os(Linux)
        let env = ProcessInfo.processInfo.environment
        guard env["OPENBLAS_CORETYPE"] == nil, env["ADAPTERS_NO_BLAS_RESTART"] != "1",
            let core = BLASInfo.recommendedCoreType()
        else { return }
        setenv("OPENBLAS_CORETYPE", core, 1)
        let args = CommandLine.arguments
        var cargs: [UnsafeMutablePointer<CChar>?] = args.map { strdup($0) }
        cargs.append(nil)
        execv("/proc/self/exe", &cargs)
        // execv returned: keep running on the generic kernels (correct, only slower).
        unsetenv("OPENBLAS_CORETYPE")
        #endif
    }
}
