// Package e2e holds the authserver's heavy end-to-end tests: the app
// against MongoDB (FerretDB, embedded) and a browser test in headless
// Chromium. They live in their own module so that FerretDB and chromedp stay
// out of the app's go.mod.
package e2e
