// Page start-up for every page (loaded by templates/base.html as a module).
// GOV.UK Frontend and MOJ Frontend are served from node_modules by Django
// (STATICFILES_DIRS): /static/govuk/ and /static/moj/, next to /static/js/.
import { initAll as initGovukFrontend } from '../govuk/govuk-frontend.min.js'
import { initAll as initMojFrontend } from '../moj/moj-frontend.min.js'
import { csrfToken, initSessionTimeout } from './session-timeout.mjs'

initGovukFrontend()
initMojFrontend()

// htmx (loaded before this module, from /static/htmx/htmx.min.js) sends the
// CSRF token with every request that changes something.
document.body.addEventListener('htmx:configRequest', (event) => {
  const token = csrfToken()
  if (token && event.detail.verb !== 'get') event.detail.headers['X-CSRFToken'] = token
})

// Content swapped in by htmx gets its GOV.UK and MOJ components started. The
// scope is the parent, so a swapped-in component itself is found too; components
// already running there refuse to start twice, which is expected and not logged.
function ignoreAlreadyStarted (error) {
  if (error && error.name !== 'InitError') console.error(error)
}

document.body.addEventListener('htmx:load', (event) => {
  const element = event.detail && event.detail.elt
  if (!(element instanceof Element) || element === document.body) return
  const scope = element.parentElement || element
  initGovukFrontend({ scope, onError: ignoreAlreadyStarted })
  initMojFrontend({ scope, onError: ignoreAlreadyStarted })
})

initSessionTimeout(document.body)
