package main

// The rule that keeps a token on the host it was meant for. Sources of connection settings are, from the highest
// rank: the flags, the JFrog CLI server of --server-id, the environment, the --config file, and the file's
// server-id. The URL comes from the first that has one and the credentials from the first that has any; on top of
// that, checkPairing refuses two mixes in which credentials would go to a host their source did not name:
//
//  1. Credentials from a source that names a URL go to that URL only. (--url staging with the JF_URL and
//     JF_ACCESS_TOKEN of production.)
//  2. A URL given on the command line (--url) takes its credentials from the command line too, since credentials in
//     the environment or a file were put there for some other URL. (--url staging with a production
//     JF_ACCESS_TOKEN and no JF_URL.)
//  3. A URL from a source that has credentials of its own takes no credentials from another source, except from the
//     command line, where the person running artprune chose them for this run. (A config file's server-id with a
//     token from the environment.)
//
// What remains: a URL alone paired with credentials alone below the command line (JF_URL with a config file's
// access-token-file, a config file's url with JF_ACCESS_TOKEN), and credentials on the command line with the
// URL of the environment, a file or a server id (JF_URL with --access-token-file, the quick start). Those are how
// artprune is documented to be set up. The rule only looks at where the settings come from; turning the URL into
// a client is client's job.

// checkPairing returns a usage error naming both sources when the URL of layer urlFrom and the credentials of layer
// credsFrom must not be used together (see above).
func checkPairing(urlFrom, credsFrom connLayer) error {
	if urlFrom.name == credsFrom.name {
		return nil
	}
	fix := "give the URL and the credentials from one source (both as flags, both in the environment, or one server id)"
	switch {
	case credsFrom.url != "":
		return usageErrorf("the Artifactory URL %s comes from the %s, but the credentials come from the %s, which names "+
			"another URL, %s: credentials go only to the URL of their source; %s",
			redact(urlFrom.url), urlFrom.name, credsFrom.name, redact(credsFrom.url), fix)
	case urlFrom.name == "flags":
		return usageErrorf("the Artifactory URL %s comes from --url, but the credentials come from the %s: credentials put "+
			"there were meant for another URL; give them as flags too (--access-token-file, or --user with --password-file), "+
			"or drop --url", redact(urlFrom.url), credsFrom.name)
	case urlFrom.hasCreds() && credsFrom.name != "flags":
		return usageErrorf("the Artifactory URL %s comes from the %s, which has credentials of its own, but the credentials "+
			"would come from the %s: credentials go only to the URL of their source; %s",
			redact(urlFrom.url), urlFrom.name, credsFrom.name, fix)
	}
	return nil
}
