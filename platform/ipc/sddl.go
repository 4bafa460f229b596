package ipc

// PipeSDDL is the security descriptor of the Windows named pipe: owned by
// SYSTEM, with a protected DACL that gives full access to SYSTEM and
// Administrators and read/write access to interactive users, whose requests
// the daemon authorizes one by one. Nobody else (network logons, services
// running as other accounts, anonymous) may open the pipe.
//
// Interactive users get GENERIC_WRITE because the client opens the pipe with
// GENERIC_READ|GENERIC_WRITE; it implies FILE_CREATE_PIPE_INSTANCE, which the
// daemon makes harmless by creating the first instance itself
// (FILE_FLAG_FIRST_PIPE_INSTANCE) and clients dial with SECURITY_ANONYMOUS.
const PipeSDDL = "O:SYG:SYD:P(A;;GA;;;SY)(A;;GA;;;BA)(A;;GRGW;;;IU)"

// daemonRunningMsg is the error text when a live daemon holds the endpoint.
const daemonRunningMsg = "another rayfish daemon is listening on %s"
