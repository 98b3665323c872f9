// notary-check: asks Notary 0.7's own Go code (Debian's golang-github-docker-notary-dev)
// whether it accepts a root.json, so rootcellar's Notary dialect is tested against code this
// project did not write. Built by scripts/setup-test-deps; used by the integration tests.
//
//	notary-check GUN [PREVIOUS_ROOT] ROOT
//	notary-check --repo GUN DIR
//
// Runs data.RootFromSigned and trustpinning.ValidateRoot (signature thresholds through
// signed.VerifySignatures, certificate validity as of now, CN = GUN; with PREVIOUS_ROOT, the
// new root must also satisfy the previous root's keys). Prints one line per key as
// "keyid <id in file> <id Notary computes>" and then ACCEPTED (exit 0) or REJECTED: <why>
// (exit 1). Exit 2 on unreadable input.
//
// With --repo, DIR is a trust folder: root.json, targets.json and targets/**/*.json are loaded
// in that order through Notary's client-side tuf.RepoBuilder (root via ValidateRoot, targets
// and each delegated role against the keys and threshold their parent names, expiry checked),
// the way a Notary client reads a repository. Prints "loaded ROLE" per file, "delegation NAME
// THRESHOLD PATHS KEYIDS" for targets.json's delegations, "target NAME ROLE" for each target a
// client lookup (Repo.WalkTargets, which applies the delegations' path prefixes) finds in a
// delegated role, then ACCEPTED or REJECTED.
package main

import (
	"fmt"
	"io/ioutil"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf"
	"github.com/theupdateframework/notary/tuf/data"
)

func readFile(path string) []byte {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	return b
}

func repo(gun data.GUN, dir string) {
	builder := tuf.NewRepoBuilder(gun, nil, trustpinning.TrustPinConfig{})
	load := func(role data.RoleName, path string) {
		if err := builder.Load(role, readFile(path), 1, false); err != nil {
			fmt.Println("REJECTED:", role, err)
			os.Exit(1)
		}
		fmt.Println("loaded", role)
	}
	load(data.CanonicalRootRole, filepath.Join(dir, "root.json"))
	load(data.CanonicalTargetsRole, filepath.Join(dir, "targets.json"))
	var roles []string
	filepath.Walk(filepath.Join(dir, "targets"), func(p string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() && strings.HasSuffix(p, ".json") {
			rel, _ := filepath.Rel(dir, p)
			roles = append(roles, strings.TrimSuffix(filepath.ToSlash(rel), ".json"))
		}
		return nil
	})
	// Parents before children.
	sort.Slice(roles, func(i, j int) bool {
		ci, cj := strings.Count(roles[i], "/"), strings.Count(roles[j], "/")
		if ci != cj {
			return ci < cj
		}
		return roles[i] < roles[j]
	})
	for _, r := range roles {
		load(data.RoleName(r), filepath.Join(dir, r+".json"))
	}
	r, _, err := builder.Finish()
	if err != nil {
		fmt.Println("REJECTED:", err)
		os.Exit(1)
	}
	var names []string
	for role, t := range r.Targets {
		if role == data.CanonicalTargetsRole {
			continue
		}
		for name := range t.Signed.Targets {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		r.WalkTargets(name, "", func(t *data.SignedTargets, role data.DelegationRole) interface{} {
			if _, ok := t.Signed.Targets[name]; ok && role.Name != data.CanonicalTargetsRole {
				fmt.Println("target", name, role.Name)
				return tuf.StopWalk{}
			}
			return nil
		})
	}
	for _, d := range r.Targets[data.CanonicalTargetsRole].Signed.Delegations.Roles {
		ids := append([]string{}, d.KeyIDs...)
		sort.Strings(ids)
		fmt.Printf("delegation %s %d %q %s\n", d.Name, d.Threshold, d.Paths, strings.Join(ids, ","))
	}
	fmt.Println("ACCEPTED")
}

func load(path string) *data.Signed {
	b, err := ioutil.ReadFile(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	s := &data.Signed{}
	if err := json.Unmarshal(b, s); err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", path, err)
		os.Exit(2)
	}
	return s
}

func main() {
	if len(os.Args) == 4 && os.Args[1] == "--repo" {
		repo(data.GUN(os.Args[2]), os.Args[3])
		return
	}
	if len(os.Args) < 3 || len(os.Args) > 4 {
		fmt.Fprintln(os.Stderr, "usage: notary-check GUN [PREVIOUS_ROOT] ROOT")
		os.Exit(2)
	}
	gun := data.GUN(os.Args[1])
	files := os.Args[2:]
	var prev *data.SignedRoot
	if len(files) == 2 {
		p, err := data.RootFromSigned(load(files[0]))
		if err != nil {
			fmt.Println("REJECTED: previous root:", err)
			os.Exit(1)
		}
		prev = p
	}
	root := load(files[len(files)-1])
	parsed, err := data.RootFromSigned(root)
	if err != nil {
		fmt.Println("REJECTED:", err)
		os.Exit(1)
	}
	ids := make([]string, 0, len(parsed.Signed.Keys))
	for id := range parsed.Signed.Keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Println("keyid", id, parsed.Signed.Keys[id].ID())
	}
	if _, err := trustpinning.ValidateRoot(prev, root, gun, trustpinning.TrustPinConfig{}); err != nil {
		fmt.Println("REJECTED:", err)
		os.Exit(1)
	}
	fmt.Println("ACCEPTED")
}
