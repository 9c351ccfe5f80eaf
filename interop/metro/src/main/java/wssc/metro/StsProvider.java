package wssc.metro;

import com.sun.xml.ws.security.trust.sts.BaseSTSImpl;
import jakarta.annotation.Resource;
import jakarta.xml.ws.BindingType;
import jakarta.xml.ws.Provider;
import jakarta.xml.ws.Service;
import jakarta.xml.ws.ServiceMode;
import jakarta.xml.ws.WebServiceContext;
import jakarta.xml.ws.WebServiceProvider;
import jakarta.xml.ws.handler.MessageContext;
import jakarta.xml.ws.soap.SOAPBinding;
import javax.xml.transform.Source;

/**
 * Metro's own security token service ({@code BaseSTSImpl}: WS-Trust Issue, SAML tokens from
 * {@code DefaultSAMLTokenProvider}), as Metro's STS samples deploy it. Its configuration is
 * the policy of the WSDL it is published with (MetroSts, resource sts.wsdl).
 */
@ServiceMode(Service.Mode.PAYLOAD)
@WebServiceProvider(serviceName = "SecurityTokenService", portName = "ISecurityTokenService_Port",
        targetNamespace = "http://tempuri.org/")
@BindingType(SOAPBinding.SOAP12HTTP_BINDING)
public class StsProvider extends BaseSTSImpl implements Provider<Source> {
    @Resource
    protected WebServiceContext context;

    @Override
    protected MessageContext getMessageContext() {
        return context.getMessageContext();
    }
}
