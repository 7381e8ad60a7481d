package store

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"strings"
)

//go:embed queries/*.sql
var queryFS embed.FS

var queryName = regexp.MustCompile(`(?m)^-- name: (\w+)\s*$`)

// queryByName maps each `-- name:` block of queries/*.sql to its SQL.
var queryByName = mustLoadQueries()

func mustLoadQueries() map[string]string {
	out := map[string]string{}
	files, err := fs.Glob(queryFS, "queries/*.sql")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		body, err := queryFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		text := string(body)
		locs := queryName.FindAllStringSubmatchIndex(text, -1)
		for i, loc := range locs {
			name := text[loc[2]:loc[3]]
			end := len(text)
			if i+1 < len(locs) {
				end = locs[i+1][0]
			}
			if _, dup := out[name]; dup {
				panic(fmt.Sprintf("store: query %s defined twice", name))
			}
			out[name] = strings.TrimSpace(text[loc[1]:end])
		}
	}
	return out
}

// sqlOf returns the SQL of a named query; a missing name is a programming
// error caught by every test that runs the query.
func sqlOf(name string) string {
	q, ok := queryByName[name]
	if !ok {
		panic("store: no query named " + name)
	}
	return q
}
