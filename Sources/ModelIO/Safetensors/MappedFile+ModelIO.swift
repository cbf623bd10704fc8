import FileMapping

extension MappedFile {
    /// Maps `path`, reporting failures as this module's errors.
    static func open(_ path: String) throws -> MappedFile {
        do throws(MappedFileError) {
            return try MappedFile(path: path)
        } catch .notFound(let p) {
            throw ModelIOError.fileNotFound(path: p)
        } catch .unreadable(let p, let reason) {
            throw ModelIOError.unreadable(path: p, reason: reason)
        }
    }
}
