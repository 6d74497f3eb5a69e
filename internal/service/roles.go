package service

import "github.com/ipsexport/ipsd/internal/store"

// Role sets, from each operation page's "Authorized User Types"
// (reference/ips-api/operations/c-operations-intro/c-methods/r-*.md), with
// the reference's typos mended ("IspAdmin" → IpsAdmin) and, per docs/wire.md, "Roles",
// IpsCompanyAdmin allowed wherever IpsUser is. WebServiceUser is named by
// no page; a role made for API access that may call nothing is useless, so
// it is allowed wherever IpsUser is too (README, compatibility notes).
const (
	iu   = store.RoleIpsUser
	ia   = store.RoleIpsAdmin
	ica  = store.RoleIpsCompanyAdmin
	wsu  = store.RoleWebServiceUser
	tsa  = store.RoleTrialSiteAdmin
	tsu  = store.RoleTrialSiteUser
	ipa  = store.RoleImagePortalAdmin
	ipu  = store.RoleImagePortalUser
	ipc  = store.RoleImagePortalContrib
	ipcu = store.RoleImagePortalContribUser
)

// operationRoles is THE role table: operation → roles that may call it.
func operationRoles() map[string][]string {
	all := []string{iu, ia, ica, wsu, tsa, tsu, ipa, ipu, ipc, ipcu}
	return map[string][]string{
		"checkLogin":      all,
		"getCompanyInfo":  all,
		"getUserInfo":     all,
		"getAssets":       all,
		"getAssetsByName": {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"searchAssets":    all,
		"getFolders":      all,
		"deleteAsset":     {iu, ia, ica, wsu, ipa, ipc, ipcu},
		"deleteAssets":    {iu, ia, ica, wsu, ipa, ipc, ipcu},
		"getImageFormats": {iu, ia, ica, wsu, ipa, ipu, ipc, ipcu},
		"setUrlModifier":  {iu, ia, ica, wsu, ipa, ipc, ipcu},
		// The page omits ImagePortalAdmin and ImagePortalUser.
		"getOriginalFilePaths": {iu, ia, ica, wsu, tsa, tsu, ipc, ipcu},
		"saveImageFormat":      {iu, ia, ica, wsu, ipa},
		"deleteImageFormat":    {iu, ia, ica, wsu, ipa},
		// Jobs (docs/wire.md, "Roles"): ImagePortalUser may follow logs only.
		"submitJob":        {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"getActiveJobs":    {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"getScheduledJobs": {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"stopJob":          {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"pauseJob":         {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"resumeJob":        {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"deleteJob":        {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		// The page lists TrialSiteAdmin twice and IpsCompanyAdmin not at
		// all; the company admin may do what IpsUser may.
		"executeJob":      {iu, ia, ica, wsu, tsa, tsu, ipa, ipc, ipcu},
		"getAssetJobLogs": all,
		"getJobLogs":      all,
		// The page omits TrialSiteAdmin, though TrialSiteUser may: a slip.
		"getJobLogDetails": all,
	}
}

// roleTable answers "may this role call that operation".
type roleTable map[string]map[string]bool

func newRoleTable() roleTable {
	t := roleTable{}
	for op, roles := range operationRoles() {
		t[op] = map[string]bool{}
		for _, r := range roles {
			t[op][r] = true
		}
	}
	return t
}

func (t roleTable) allows(op, role string) bool { return t[op][role] }

// Allows reports whether role may call operation, by the role table: the
// Jobs page asks it before offering or applying a job operation.
func (s *Service) Allows(operation, role string) bool { return s.roles.allows(operation, role) }
