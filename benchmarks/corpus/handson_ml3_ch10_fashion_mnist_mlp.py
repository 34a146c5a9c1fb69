# Source: Hands-On Machine Learning with Scikit-Learn, Keras & TensorFlow, 3rd ed.
#   (A. Geron, O'Reilly 2022), chapter 10 "Introduction to Artificial Neural
#   Networks with Keras", "Creating the model using the Sequential API"
#   (Fashion MNIST classifier), companion notebook:
#   https://github.com/ageron/handson-ml3/blob/main/10_neural_nets_with_keras.ipynb
# Simplified: the book uses tf.keras with InputLayer(input_shape=[28, 28]) (or
#   Flatten(input_shape=[28, 28])); in Keras 3 the input is given as
#   keras.Input(shape=[28, 28]), and the layers are passed as a list to
#   keras.Sequential (the notebook's second, equivalent form) rather than via
#   model.add() (in Keras 3 each add() after the Input rebuilds the graph and
#   re-calls the earlier layers). Dropped tf.random.set_seed, data loading,
#   compile, fit, evaluate and predict.
import keras
from keras import layers

model = keras.Sequential([
    keras.Input(shape=[28, 28]),
    layers.Flatten(),
    layers.Dense(300, activation="relu"),
    layers.Dense(100, activation="relu"),
    layers.Dense(10, activation="softmax")
])
