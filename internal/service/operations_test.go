package service

import (
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Every operation served has its roles, and every role entry an
// operation; with a job engine the service answers each of them.
func TestOperationTableAndRoles(t *testing.T) {
	roles := operationRoles()
	var names []string
	for _, op := range operationTable() {
		names = append(names, op.name)
		assert.NotEmpty(t, roles[op.name], "%s has no roles", op.name)
	}
	for op := range roles {
		assert.Contains(t, names, op, "the role table names %s, which is not served", op)
	}
	e := newSvcEnv(t, Config{})
	for _, name := range names {
		assert.True(t, e.svc.Supports(name), name)
	}
	assert.False(t, e.svc.Supports("publishJob"))
	assert.Len(t, slices.Compact(slices.Sorted(slices.Values(names))), len(names), "each once")
}

// TestOperationsDoc keeps the README's table of operations in step with
// the operation and role tables.
// Regenerate with: UPDATE_OPERATIONS_MD=1 go test -run TestOperationsDoc ./internal/service/
func TestOperationsDoc(t *testing.T) {
	const begin, end = "<!-- operations:begin -->\n", "<!-- operations:end -->"
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	i, j := strings.Index(string(readme), begin), strings.Index(string(readme), end)
	require.True(t, i >= 0 && j > i, "README.md has no operations markers")
	section := operationsMarkdown()
	if os.Getenv("UPDATE_OPERATIONS_MD") != "" {
		readme = []byte(string(readme[:i+len(begin)]) + section + string(readme[j:]))
		require.NoError(t, os.WriteFile("../../README.md", readme, 0o644))
		j = strings.Index(string(readme), end)
	}
	assert.Equal(t, section, string(readme[i+len(begin):j]),
		"README.md's operation table is stale: UPDATE_OPERATIONS_MD=1 go test -run TestOperationsDoc ./internal/service/")
}
