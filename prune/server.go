package prune

// ServerReport names the Artifactory a run worked on, as the client detected it: what the completeness guarantee
// rested on there.
type ServerReport struct {
	// Edition is pro, saas, jcr, oss or oss-or-jcr.
	Edition string `json:"edition"`
	// Version is the server's version ("" if unread).
	Version string `json:"version,omitempty"`
	// AQLSort reports whether AQL sorts: the inventory was keyset-paged on a sort and its completeness proven by
	// the probe when true, listed in unsorted partitions as an admin when false.
	AQLSort bool `json:"aql_sort"`
	// Admin reports whether the caller was seen to be an admin.
	Admin bool `json:"admin"`
	// DetectedBy says how the edition was found.
	DetectedBy string `json:"detected_by"`
}

// WithServer names the server in the report (the "server" key; absent without this option).
func WithServer(s ServerReport) ReportOption {
	return func(r *Report) { r.Server = &s }
}

// serverLine is the report's text line naming the server.
func (s *ServerReport) serverLine() string {
	sort := "AQL sorts: keyset paging and the completeness probe"
	if !s.AQLSort {
		sort = "AQL without sort: unsorted partitions, complete for an admin"
	}
	who := "not admin"
	if s.Admin {
		who = "admin"
	}
	v := s.Version
	if v == "" {
		v = "version unknown"
	}
	return "artifactory: " + s.Edition + " " + v + " (" + sort + "; " + who + ")"
}
