package wssc.metro;

import javax.security.auth.callback.Callback;
import javax.security.auth.callback.CallbackHandler;
import javax.security.auth.callback.NameCallback;
import javax.security.auth.callback.UnsupportedCallbackException;

/** Metro's usernameHandler (wsit-client.xml): the name comes from -Dwssc.username. */
public final class UsernameHandler implements CallbackHandler {
    @Override
    public void handle(Callback[] callbacks) throws UnsupportedCallbackException {
        for (Callback cb : callbacks) {
            if (cb instanceof NameCallback nc) {
                nc.setName(System.getProperty("wssc.username", ""));
            } else {
                throw new UnsupportedCallbackException(cb);
            }
        }
    }
}
