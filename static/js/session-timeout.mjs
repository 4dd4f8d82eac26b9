// Session timeout warning (DESIGN.md section 6; WCAG 2.2.1 Timing adjustable).
//
// The server ends a session after SESSION_IDLE_SECONDS without activity or
// SESSION_ABSOLUTE_SECONDS after sign-in (accounts/middleware.py). This module
// warns SESSION_WARNING_SECONDS before that in the dialog rendered by base.html,
// lets the user stay signed in (POST /session/extend, which counts as activity)
// or sign out, and, if nobody answers, keeps what was typed into forms marked
// `data-preserve` in sessionStorage (this tab only), keyed by path, before
// going to the sign-in page. The next time that page loads for the same user,
// the fields are put back and the copy is deleted.
//
// Settings come from data attributes on <body>: data-user-id,
// data-session-idle, data-session-warning, data-session-status-url,
// data-session-extend-url, data-sign-in-url. GET /session/status does not count
// as activity, so asking it never keeps a session alive.

const PRESERVE_PREFIX = 'sg:preserved-form:'
const PRESERVE_MAX_AGE_MS = 12 * 60 * 60 * 1000
const SKIPPED_TYPES = new Set(['password', 'file', 'hidden', 'submit', 'button', 'reset', 'image', 'fieldset', 'output', 'object'])
const SUBMIT_MARGIN_MS = 5000
const POLL_WHILE_OPEN_MS = 30000

export function csrfToken () {
  const meta = document.querySelector('meta[name="csrf-token"]')
  return meta ? meta.getAttribute('content') : ''
}

// --- Keeping what was typed ------------------------------------------------------

function storageKey (path) {
  return PRESERVE_PREFIX + path
}

function preservedForms () {
  return Array.from(document.querySelectorAll('form[data-preserve]'))
}

function formKey (form, index) {
  return form.dataset.preserve || form.id || `form-${index}`
}

function keptElements (form) {
  return Array.from(form.elements).filter((el) =>
    el.name && !el.disabled && !SKIPPED_TYPES.has(el.type) && el.name !== 'csrfmiddlewaretoken'
  )
}

function readFields (form) {
  return keptElements(form).map((el) => {
    if (el.type === 'checkbox' || el.type === 'radio') {
      return { name: el.name, value: el.value, checked: el.checked }
    }
    if (el.tagName === 'SELECT' && el.multiple) {
      return { name: el.name, values: Array.from(el.selectedOptions, (option) => option.value) }
    }
    return { name: el.name, value: el.value }
  })
}

function writeFields (form, fields) {
  const elements = keptElements(form)
  const seen = new Map()
  const touched = new Set()
  for (const field of fields) {
    const named = elements.filter((el) => el.name === field.name)
    if ('checked' in field) {
      const el = named.find((candidate) => candidate.value === field.value &&
        (candidate.type === 'checkbox' || candidate.type === 'radio'))
      if (el && el.checked !== field.checked) {
        el.checked = field.checked
        touched.add(el)
      }
    } else if ('values' in field) {
      const select = named.find((candidate) => candidate.tagName === 'SELECT')
      if (select) {
        for (const option of select.options) option.selected = field.values.includes(option.value)
        touched.add(select)
      }
    } else {
      // Several boxes can share a name: the nth value saved goes to the nth box.
      const index = seen.get(field.name) || 0
      seen.set(field.name, index + 1)
      const el = named.filter((candidate) => candidate.type !== 'checkbox' && candidate.type !== 'radio')[index]
      if (el && el.value !== field.value) {
        el.value = field.value
        touched.add(el)
      }
    }
  }
  // Let components that follow their inputs (conditional reveals, character
  // counts) catch up.
  for (const el of touched) {
    el.dispatchEvent(new Event('input', { bubbles: true }))
    el.dispatchEvent(new Event('change', { bubbles: true }))
  }
  return touched.size > 0
}

/** Keep the fields of every `form[data-preserve]` on this page. True if anything was kept. */
export function saveForms ({ userId, path = window.location.pathname } = {}) {
  const forms = preservedForms()
  if (!forms.length) return false
  const saved = forms.map((form, index) => ({ key: formKey(form, index), fields: readFields(form) }))
  if (!saved.some((entry) => entry.fields.length)) return false
  try {
    window.sessionStorage.setItem(storageKey(path), JSON.stringify({
      userId: String(userId),
      savedAt: Date.now(),
      forms: saved
    }))
    return true
  } catch (error) {
    return false
  }
}

/** Put back fields kept for this page, for this user only, then forget them. */
export function restoreForms ({ userId, path = window.location.pathname } = {}) {
  let stored = null
  try {
    stored = JSON.parse(window.sessionStorage.getItem(storageKey(path)) || 'null')
  } catch (error) {
    stored = null
  }
  if (!stored) return false
  const forms = preservedForms()
  if (!forms.length) return false // keep it for when that form is shown
  window.sessionStorage.removeItem(storageKey(path))
  if (String(stored.userId) !== String(userId)) return false
  if (!stored.savedAt || Date.now() - stored.savedAt > PRESERVE_MAX_AGE_MS) return false
  let restored = false
  forms.forEach((form, index) => {
    const entry = (stored.forms || []).find((candidate) => candidate.key === formKey(form, index))
    if (entry && writeFields(form, entry.fields || [])) restored = true
  })
  return restored
}

/** Forget every kept form in this tab (on signing out on purpose). */
export function clearSavedForms () {
  try {
    for (let i = window.sessionStorage.length - 1; i >= 0; i--) {
      const key = window.sessionStorage.key(i)
      if (key && key.startsWith(PRESERVE_PREFIX)) window.sessionStorage.removeItem(key)
    }
  } catch (error) {
    // Storage can be unavailable (private modes); nothing was kept then.
  }
}

function showRestoredBanner () {
  const main = document.getElementById('main-content')
  if (!main) return
  const banner = document.createElement('div')
  banner.className = 'govuk-notification-banner'
  banner.setAttribute('role', 'region')
  banner.setAttribute('aria-labelledby', 'restored-form-title')
  banner.tabIndex = -1
  banner.innerHTML =
    '<div class="govuk-notification-banner__header">' +
    '<h2 class="govuk-notification-banner__title" id="restored-form-title">Important</h2></div>' +
    '<div class="govuk-notification-banner__content">' +
    '<p class="govuk-notification-banner__heading">We have put back what you typed before you were signed out.</p>' +
    '<p class="govuk-body">Check it, then save it. It has not been saved yet.</p></div>'
  main.prepend(banner)
  banner.focus()
}

// --- Warning and expiry ------------------------------------------------------------

function describeTime (ms) {
  const seconds = Math.max(0, Math.ceil(ms / 1000))
  if (seconds >= 60) {
    const minutes = Math.ceil(seconds / 60)
    return `${minutes} minute${minutes === 1 ? '' : 's'}`
  }
  return `${seconds} second${seconds === 1 ? '' : 's'}`
}

export class SessionTimeout {
  constructor (body) {
    const data = body.dataset
    this.userId = data.userId
    this.idleMs = Number(data.sessionIdle || 1800) * 1000
    this.warningMs = Number(data.sessionWarning || 300) * 1000
    this.statusUrl = data.sessionStatusUrl
    this.extendUrl = data.sessionExtendUrl
    this.signInUrl = data.signInUrl
    this.dialog = document.getElementById('session-timeout-dialog')
    this.idleEnd = Date.now() + this.idleMs
    this.absoluteEnd = Infinity
    this.timer = null
    this.ticker = null
    this.expiring = false
    this.absoluteDismissed = false
    this.lastAnnounced = ''
    this.lastPoll = 0
    this.returnFocus = null
  }

  get end () {
    return Math.min(this.idleEnd, this.absoluteEnd)
  }

  get absoluteFirst () {
    return this.absoluteEnd <= this.idleEnd
  }

  start () {
    if (restoreForms({ userId: this.userId })) showRestoredBanner()
    this.bindDialog()
    this.bindPage()
    this.refresh()
  }

  // GET /session/status: {signed_in, idle_seconds_remaining, absolute_seconds_remaining, ...}.
  // Returns {signedIn: false}, {signedIn: true, data} or null when it cannot tell.
  async status () {
    try {
      const response = await window.fetch(this.statusUrl, {
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json' }
      })
      if (response.redirected || response.status === 401 || response.status === 403) {
        return { signedIn: false }
      }
      if (!response.ok) return null
      const data = await response.json()
      return data.signed_in ? { signedIn: true, data } : { signedIn: false }
    } catch (error) {
      return null
    }
  }

  apply (data) {
    const now = Date.now()
    this.idleEnd = now + Number(data.idle_seconds_remaining) * 1000
    this.absoluteEnd = now + Number(data.absolute_seconds_remaining) * 1000
    if (data.warning_seconds) this.warningMs = Number(data.warning_seconds) * 1000
  }

  async refresh () {
    const result = await this.status()
    if (result && !result.signedIn) return this.expire()
    if (result) this.apply(result.data)
    this.schedule()
  }

  // The server saw activity just now (a page load or an htmx request).
  touched () {
    this.idleEnd = Date.now() + this.idleMs
    if (!this.expiring) this.schedule()
  }

  schedule () {
    window.clearTimeout(this.timer)
    const now = Date.now()
    if (this.absoluteDismissed && this.absoluteFirst) {
      // The user has read the warning; wait for the end, then check once more.
      this.timer = window.setTimeout(() => this.atEnd(), Math.max(0, this.end - now))
      return
    }
    const untilWarning = this.end - this.warningMs - now
    if (untilWarning > 0) {
      if (this.isOpen()) this.close()
      // Check with the server first: another tab may have kept the session going.
      this.timer = window.setTimeout(() => this.refresh(), untilWarning)
    } else {
      this.open()
    }
  }

  isOpen () {
    return Boolean(this.dialog && this.dialog.open)
  }

  bindDialog () {
    if (!this.dialog) return
    const extend = this.dialog.querySelector('[data-timeout-extend]')
    const close = this.dialog.querySelector('[data-timeout-close]')
    if (extend) extend.addEventListener('click', () => this.extend())
    if (close) close.addEventListener('click', () => this.dismiss())
    // Escape means "not now": it keeps the user signed in where that is possible.
    this.dialog.addEventListener('cancel', (event) => {
      event.preventDefault()
      if (this.absoluteFirst) this.dismiss()
      else this.extend()
    })
  }

  bindPage () {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible' && !this.expiring) this.refresh()
    })
    window.addEventListener('pageshow', (event) => {
      if (event.persisted && !this.expiring) this.refresh()
    })
    for (const form of document.querySelectorAll('form[data-sign-out]')) {
      form.addEventListener('submit', () => clearSavedForms())
    }
    // A form submitted after the session has ended would be thrown away by the
    // server: check first, and keep what was typed if the session is over.
    document.addEventListener('submit', (event) => this.guardSubmit(event))
    // htmx requests count as activity; a request answered with the sign-in page
    // means the session has ended, and that page must not be swapped in.
    document.body.addEventListener('htmx:beforeSwap', (event) => {
      const xhr = event.detail && event.detail.xhr
      if (xhr && this.isSignInResponse(xhr.responseURL)) {
        event.detail.shouldSwap = false
        this.expire()
      }
    })
    document.body.addEventListener('htmx:afterRequest', (event) => {
      const xhr = event.detail && event.detail.xhr
      if (xhr && xhr.status && xhr.status < 500 && !this.isSignInResponse(xhr.responseURL)) {
        this.touched()
      }
    })
  }

  isSignInResponse (url) {
    if (!url || !this.signInUrl) return false
    try {
      return new URL(url, window.location.href).pathname === new URL(this.signInUrl, window.location.href).pathname
    } catch (error) {
      return false
    }
  }

  guardSubmit (event) {
    const form = event.target
    if (!(form instanceof HTMLFormElement) || !form.matches('form[data-preserve]')) return
    if (form.dataset.sessionChecked === '1') {
      delete form.dataset.sessionChecked
      return
    }
    if (Date.now() < this.end - SUBMIT_MARGIN_MS) return
    event.preventDefault()
    const submitter = event.submitter || null
    this.status().then((result) => {
      if (result && !result.signedIn) return this.expire()
      if (result) this.apply(result.data)
      form.dataset.sessionChecked = '1'
      if (typeof form.requestSubmit === 'function') form.requestSubmit(submitter)
      else form.submit()
    })
  }

  open () {
    if (!this.dialog) return
    const absolute = this.absoluteFirst
    this.toggle('[data-timeout-idle]', !absolute)
    this.toggle('[data-timeout-absolute]', absolute)
    this.toggle('[data-timeout-extend]', !absolute)
    this.toggle('[data-timeout-close]', absolute)
    if (!this.isOpen()) {
      this.returnFocus = document.activeElement
      this.lastAnnounced = ''
      if (typeof this.dialog.showModal === 'function') this.dialog.showModal()
      else this.dialog.setAttribute('open', '')
      const heading = this.dialog.querySelector('#session-timeout-heading')
      if (heading) heading.focus()
    }
    this.tick()
    window.clearInterval(this.ticker)
    this.ticker = window.setInterval(() => this.tick(), 1000)
  }

  toggle (selector, visible) {
    for (const el of this.dialog.querySelectorAll(selector)) el.hidden = !visible
  }

  close () {
    window.clearInterval(this.ticker)
    this.ticker = null
    if (!this.dialog) return
    if (typeof this.dialog.close === 'function' && this.dialog.open) this.dialog.close()
    else this.dialog.removeAttribute('open')
    const target = this.returnFocus
    this.returnFocus = null
    if (target && target.isConnected && typeof target.focus === 'function') target.focus()
  }

  dismiss () {
    this.absoluteDismissed = true
    this.close()
    this.schedule()
  }

  tick () {
    const remaining = this.end - Date.now()
    if (remaining <= 0) {
      window.clearInterval(this.ticker)
      this.ticker = null
      this.atEnd()
      return
    }
    const text = describeTime(remaining)
    for (const el of this.dialog.querySelectorAll('[data-timeout-countdown]')) el.textContent = text
    // Announce on opening, at each new minute and at 30 seconds; not every second.
    const seconds = Math.ceil(remaining / 1000)
    const announceText = seconds >= 60 ? text : (seconds <= 30 ? '30 seconds or less' : 'less than a minute')
    if (announceText !== this.lastAnnounced) {
      this.lastAnnounced = announceText
      const live = this.dialog.querySelector('[data-timeout-announce]')
      if (live) live.textContent = `We will sign you out in ${seconds >= 60 ? text : announceText}.`
    }
    // Another tab may extend the session while this one shows the warning.
    if (Date.now() - this.lastPoll > POLL_WHILE_OPEN_MS) {
      this.lastPoll = Date.now()
      this.status().then((result) => {
        if (result && result.signedIn) {
          this.apply(result.data)
          if (this.end - this.warningMs > Date.now()) this.schedule()
        }
      })
    }
  }

  async atEnd () {
    const result = await this.status()
    if (result && result.signedIn) {
      this.apply(result.data)
      if (this.end > Date.now()) {
        this.schedule()
        return
      }
    }
    this.expire()
  }

  async extend () {
    try {
      const response = await window.fetch(this.extendUrl, {
        method: 'POST',
        credentials: 'same-origin',
        cache: 'no-store',
        headers: { Accept: 'application/json', 'X-CSRFToken': csrfToken() }
      })
      if (response.redirected || response.status === 401) return this.expire()
      if (response.ok) this.apply(await response.json())
    } catch (error) {
      // Offline or the server did not answer: the next check decides.
    }
    this.close()
    this.schedule()
  }

  async expire () {
    if (this.expiring) return
    this.expiring = true
    window.clearTimeout(this.timer)
    window.clearInterval(this.ticker)
    saveForms({ userId: this.userId })
    // End the session on the server as well, in case this page's clock is ahead of it.
    const signOut = document.querySelector('form[data-sign-out]')
    if (signOut) {
      try {
        await window.fetch(signOut.action, {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'X-CSRFToken': csrfToken() },
          redirect: 'manual'
        })
      } catch (error) {
        // The server ends the session by itself; this was only a courtesy.
      }
    }
    const next = encodeURIComponent(window.location.pathname)
    window.location.assign(`${this.signInUrl}?timeout=1&next=${next}`)
  }
}

/** Start the warning for a signed-in page. Returns the controller, or null. */
export function initSessionTimeout (body = document.body) {
  if (!body || !body.dataset.sessionStatusUrl) return null
  const controller = new SessionTimeout(body)
  controller.start()
  return controller
}
