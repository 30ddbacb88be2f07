// esp32_main.cpp: Arduino-ESP32's entry points, handing over to the C port (esp32_port.c).
// The Arduino core is only the ESP-IDF start-up here: setup() starts the firmware task and the
// Arduino loop task then ends itself. No Arduino header is included, so only our own code is
// compiled under this project's -Wall -Wextra -Werror.
extern "C" void dc_esp32_start(void);
extern "C" void dc_esp32_end_task(void);

void setup()
{
    dc_esp32_start();
}

void loop()
{
    dc_esp32_end_task();
}
