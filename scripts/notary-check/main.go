// notary-check: asks Notary 0.7's own Go code (Debian's golang-github-docker-notary-dev)
// whether it accepts a root.json, so rootcellar's Notary dialect is tested against code this
// project did not write. Built by scripts/setup-test-deps; used by the integration tests.
//
//	notary-check GUN [PREVIOUS_ROOT] ROOT
//
// Runs data.RootFromSigned and trustpinning.ValidateRoot (signature thresholds through
// signed.VerifySignatures, certificate validity as of now, CN = GUN; with PREVIOUS_ROOT, the
// new root must also satisfy the previous root's keys). Prints one line per key as
// "keyid <id in file> <id Notary computes>" and then ACCEPTED (exit 0) or REJECTED: <why>
// (exit 1). Exit 2 on unreadable input.
package main

import (
	"fmt"
	"io/ioutil"
	"os"
	"sort"

	"github.com/docker/go/canonical/json"
	"github.com/theupdateframework/notary/trustpinning"
	"github.com/theupdateframework/notary/tuf/data"
)

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
