package app

import (
	"bufio"
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"strings"
	"sync"
)

// commonPasswordsGz is the list of common passwords; see
// common-passwords.NOTICE.md for its source and licence.
//
//go:embed common-passwords.txt.gz
var commonPasswordsGz []byte

// commonPasswords decompresses the embedded list into a set, once.
var commonPasswords = sync.OnceValues(func() (map[string]struct{}, error) {
	zr, err := gzip.NewReader(bytes.NewReader(commonPasswordsGz))
	if err != nil {
		return nil, fmt.Errorf("common passwords: %w", err)
	}
	set := make(map[string]struct{}, 20000)
	sc := bufio.NewScanner(zr)
	for sc.Scan() {
		if line := sc.Text(); line != "" {
			set[strings.ToLower(line)] = struct{}{}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("common passwords: %w", err)
	}
	return set, nil
})

// isCommonPassword reports whether password, ignoring case, is on the
// embedded list of common passwords. New loads the list, so it is never
// missing here.
func isCommonPassword(password string) bool {
	set, _ := commonPasswords()
	_, ok := set[strings.ToLower(password)]
	return ok
}
