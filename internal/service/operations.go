package service

import (
	"fmt"
	"slices"
	"strings"
)

// operation is one IPS operation this server serves.
type operation struct {
	name string
	// jobs: it needs the job engine (Config.Jobs).
	jobs bool
	// summary says in one line what it does here, for the README's table
	// (TestOperationsDoc).
	summary string
	handler func(s *Service) handler
}

// operationTable is THE list of operations served; the role table
// (roles.go) says who may call each, and the WSDLs declare them
// (internal/ipsapi). Every other operation answers 30001.
func operationTable() []operation {
	return []operation{
		{"checkLogin", false, "`status` ValidLogin or InvalidLogin, under the login limits",
			func(s *Service) handler { return s.checkLogin }},
		{"getCompanyInfo", false, "by handle or name; another company is 20006",
			func(s *Service) handler { return s.getCompanyInfo }},
		{"getUserInfo", false, "the caller, or a user of their companies",
			func(s *Service) handler { return s.getUserInfo }},
		{"getAssets", false, "by handle, unknown ones left out",
			func(s *Service) handler { return s.getAssets }},
		{"getAssetsByName", false, "by name, with type and subtype filters",
			func(s *Service) handler { return s.getAssetsByName }},
		{"searchAssets", false, "folder, keywords, types, paging and sorting",
			func(s *Service) handler { return s.searchAssets }},
		{"getFolders", false, "the folder tree",
			func(s *Service) handler { return s.getFolders }},
		{"deleteAsset", false, "with its file",
			func(s *Service) handler { return s.deleteAsset }},
		{"deleteAssets", false, "with per-handle faults",
			func(s *Service) handler { return s.deleteAssets }},
		{"setUrlModifier", false, "an asset's `urlModifier` and `urlPostApplyModifier`, checked; convert exports apply them (not in the pre-4.0 WSDL)",
			func(s *Service) handler { return s.setUrlModifier }},
		{"getImageFormats", false, "the company's presets (macros)",
			func(s *Service) handler { return s.getImageFormats }},
		{"saveImageFormat", false, "creates or updates a preset, its modifier checked",
			func(s *Service) handler { return s.saveImageFormat }},
		{"deleteImageFormat", false, "by handle",
			func(s *Service) handler { return s.deleteImageFormat }},
		{"getOriginalFilePaths", false, "one root-first path per handle, in order; unknown handles and sets are 30001",
			func(s *Service) handler { return s.getOriginalFilePaths }},
		{"submitJob", true, "`exportJob` only (one job type per request), now, at `execTime` or on an `execSchedule`",
			func(s *Service) handler { return s.submitJob }},
		{"getActiveJobs", true, "exports and UploadFile jobs; `includeWaitingJobs` adds waiting ones",
			func(s *Service) handler { return s.getActiveJobs }},
		{"getScheduledJobs", true, "waiting and recurring jobs, `triggerState` Normal or Paused, `timeZone` an IANA name",
			func(s *Service) handler { return s.getScheduledJobs }},
		{"getJobLogs", true, "counts and dates; every Job Log Sort Field",
			func(s *Service) handler { return s.getJobLogs }},
		{"getJobLogDetails", true, "rows in the job's language, by date or log type, paged and filtered",
			func(s *Service) handler { return s.getJobLogDetails }},
		{"getAssetJobLogs", true, "an asset's rows in every job, newest first (not in the pre-4.0 WSDL)",
			func(s *Service) handler { return s.getAssetJobLogs }},
		{"pauseJob", true, "a queued or running job, a waiting or recurring one",
			func(s *Service) handler { return s.pauseJob }},
		{"resumeJob", true, "a waiting one past its time runs at once",
			func(s *Service) handler { return s.resumeJob }},
		{"stopJob", true, "after the asset in hand; what is left is cancelled",
			func(s *Service) handler { return s.stopJob }},
		{"executeJob", true, "a waiting job runs now; a recurring one makes a run now",
			func(s *Service) handler { return s.executeJob }},
		{"deleteJob", true, "any job, stopped first, with its log and files; a recurring one",
			func(s *Service) handler { return s.deleteJob }},
	}
}

// operationsMarkdown is the README's table of operations: each one served,
// who may call it (the role table) and what it does here.
func operationsMarkdown() string {
	roles := operationRoles()
	all := slices.Clone(roles["checkLogin"])
	var b strings.Builder
	b.WriteString("| operation | roles | here |\n|---|---|---|\n")
	for _, op := range operationTable() {
		fmt.Fprintf(&b, "| `%s` | %s | %s |\n", op.name, rolesText(roles[op.name], all), op.summary)
	}
	return b.String()
}

// rolesText names a role set shortly: every role, every role but a few,
// or the few.
func rolesText(allowed, all []string) string {
	var missing []string
	for _, r := range all {
		if !slices.Contains(allowed, r) {
			missing = append(missing, r)
		}
	}
	switch {
	case len(missing) == 0:
		return "every role"
	case len(missing) < len(allowed):
		return "every role but " + strings.Join(missing, ", ")
	}
	return strings.Join(allowed, ", ")
}
