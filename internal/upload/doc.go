// Package upload is the UploadFile servlet: POST /scene7/UploadFile, as
// reference/ips-api/c-http-post.md describes it.
//
// Implemented:
//   - multipart/form-data POSTs with an "auth" part (an authHeader document,
//     its elements matched by local name in any namespace, the versioned one
//     of the reference's example included, with faultHttpStatusCode,
//     gzipResponse and locale), an "uploadParams" part (an uploadPostParam
//     document: companyHandle, jobName or jobHandle, locale, description,
//     destFolder, fileName, endJob, and uploadParams of type UploadPostJob)
//     and any number of file parts. HTTP Basic may stand in for the auth
//     part. The auth and uploadParams parts must come before the file parts
//     (the example's order): files are streamed, never held.
//   - Files stream (mime/multipart's NextPart, never ParseMultipartForm) to
//     blob storage through catalog.Importer, which hashes and types them by
//     content, and become assets in destFolder + the folder path of the file
//     name, relative to the company root (a leading company root folder, as
//     in the example's "ApiTestCo1/dir//file.jpg", is dropped; doubled
//     slashes are ignored; "..", ".", absolute paths and control characters
//     are refused). A file that does not arrive whole (truncated body, over
//     the size limit) leaves neither blob nor asset.
//   - UploadPostJob's overwrite: true gives the asset with the same file
//     name in the same folder (IPS's OverwriteFullName) the new file; it
//     keeps its handle, name and set memberships, as preservePublishState
//     and preserveCrop imply an IPS asset does; false keeps the
//     existing asset, does not store the new file and logs an UploadError
//     for it (the job goes on). overwrite is required on the POST that
//     starts a job, as the reference marks it.
//   - The upload job: the first POST (jobName) creates a store job of type
//     Upload, Running; later POSTs name its jobHandle and use its
//     UploadPostJob options ("uploadParams is ignored"); endJob=true
//     completes it; a job that gets no POST for 30 minutes is ended by
//     Sweep. Each file is a job asset whose outcome is its log detail
//     (UploadSuccess, UploadWarning, UploadError). A jobHandle of another
//     company is answered as unknown.
//   - Answers: a bare <uploadPostReturn> holding the jobHandle, in the
//     request's namespace, or a bare fault element (HTTP 500, or the
//     authHeader's faultHttpStatusCode), as the reference's examples show.
//
// Not implemented: the processing options of UploadPostJob (createMask,
// crops, knockout, Photoshop/PDF/Illustrator/InDesign/PostScript options,
// colour management, unsharp mask, media thumbnails, archive extraction,
// automatic sets, XMP keywords, projects): files are stored as uploaded,
// and each file such an option concerns gets an UploadWarning naming it.
// readyForPublish, preservePublishState and preserveCrop are recorded
// only (this server has no publishing or crops). emailSetting is honoured
// as for exports (Config.Mail): All mails the start, each refused or
// warned file and the end; Error, ErrorAndWarning and JobCompletion mail
// once when the job ends (endJob, the idle timeout, or stopJob). The reference's
// note that all POSTs of a job must come from one IP address is a
// constraint on clients of Adobe's servers, not enforced here (clients
// behind NAT or proxies would break); the address is recorded in the job's
// Spec. The example POST of the reference, typeset, has "--boundary--"
// before its file parts and no blank line before the file bytes; no
// multipart parser reads files from that, and this one answers 30003
// rather than silently ignoring parts after a closing boundary.
package upload
