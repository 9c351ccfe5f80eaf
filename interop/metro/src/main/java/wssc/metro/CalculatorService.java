package wssc.metro;

import jakarta.jws.WebService;
import java.util.concurrent.atomic.AtomicInteger;
import wssc.metro.gen.ICalculator;

/** The demo contract (ICalculator: Add, Echo) served by Metro. */
@WebService(endpointInterface = "wssc.metro.gen.ICalculator", serviceName = "Service",
        portName = "WSHttpBinding_ICalculator", targetNamespace = "http://tempuri.org/")
public class CalculatorService implements ICalculator {
    static final AtomicInteger CALLS = new AtomicInteger();

    @Override
    public int add(int a, int b) {
        System.out.println("CALL Add " + a + " " + b + " #" + CALLS.incrementAndGet());
        System.out.flush();
        return a + b;
    }

    @Override
    public String echo(String text) {
        System.out.println("CALL Echo #" + CALLS.incrementAndGet());
        System.out.flush();
        return text;
    }
}
