"""A test's authenticator app: the user's TOTP device and the codes it shows, worked
out with django_otp.oath.totp from the device's secret, as a phone would."""

import time


def authenticator_for(username):
    """The user's authenticator app: their confirmed TOTP device (made if none)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from accounts.models import User

    user = User.objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=True)
    return device


def app_code(device) -> str:
    """A code the app would show that the device will accept now. django-otp accepts
    one 30-second step either side of where it believes the app's clock is (its drift)
    and refuses a step it has accepted before, so a second sign-in within the same
    step gives the next step's code; a third waits for the clock."""
    from django_otp.oath import totp

    device.refresh_from_db()
    now_t = int((time.time() - device.t0) // device.step)
    candidates = [t for t in (now_t + device.drift, now_t + device.drift + 1) if t > device.last_t]
    if not candidates:
        time.sleep(device.t0 + (now_t + 1) * device.step - time.time() + 0.05)
        return app_code(device)
    drift = candidates[0] - now_t
    code = totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift)
    return f"{code:0{device.digits}d}"


SIGN_IN = "/accounts/sign-in/"
CODE = "/accounts/sign-in/code/"


def sign_in_with_code(client, username, password, **extra):
    """Sign in through the pages as a user does: the password, then the code from their
    authenticator app (set up for them if they have none). Returns the last response."""
    device = authenticator_for(username)
    response = client.post(SIGN_IN, {"username": username, "password": password}, **extra)
    if response.status_code != 302 or response["Location"] != CODE:
        return response
    return client.post(CODE, {"code": app_code(device)}, **extra)
